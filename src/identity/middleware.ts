/** Authentication as Hono middleware: the principal, or 401 (identity/authenticate.ts decides). */
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env'
import { ACCESS_ASSERTION_HEADER } from './access'
import { authenticateRequest } from './authenticate'

export const authenticate = () =>
  createMiddleware<AppEnv>(async function authenticate(c, next) {
    // Key or Cloudflare Access token; the precedence is documented in identity/authenticate.ts.
    const principal = await authenticateRequest(
      {
        authorization: c.req.header('authorization'),
        accessAssertion: c.req.header(ACCESS_ASSERTION_HEADER),
      },
      c.var.config,
      new Date(),
    )
    c.set('principal', principal)
    await next()
  })
