/**
 * The pipe's front stages as Hono middleware, in the order `create-app.ts` mounts them:
 * configuration (fail closed), authentication, and for bodies: JSON only, size-capped.
 */
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import { configFor } from '../config'
import { ACCESS_ASSERTION_HEADER } from '../identity/access'
import { authenticateRequest } from '../identity/authenticate'
import type { AppEnv } from './app-env'
import { GatewayError } from './errors'
import type { Action } from './request-facts'

/** Every request needs a usable configuration; without one the gateway answers 503 to all. */
export const loadConfig = () =>
  createMiddleware<AppEnv>(async function loadConfig(c, next) {
    c.set('config', configFor(c.env))
    await next()
  })

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
    c.var.facts.principal = principal
    await next()
  })

const JSON_MEDIA_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i

/**
 * For routes that take a body: only `application/json` (UTF-8), at most `maxBodyBytes`, and it must
 * parse. Without a Content-Length the size cap is enforced while the stream is read.
 */
export const jsonBody = () =>
  createMiddleware<AppEnv>(async function jsonBody(c, next) {
    if (!JSON_MEDIA_TYPE.test(c.req.header('content-type') ?? '')) {
      throw GatewayError.of('UNSUPPORTED_MEDIA_TYPE', { pointer: '/headers/content-type' })
    }
    const limit = bodyLimit({
      maxSize: c.var.config.maxBodyBytes,
      onError: () => {
        throw GatewayError.of('BODY_TOO_LARGE', {
          message: `The request body is larger than ${c.var.config.maxBodyBytes} bytes`,
        })
      },
    })
    await limit(c, async () => {
      try {
        // Parsed (and cached by Hono) here so that bad JSON is its own error, not a schema error.
        await c.req.json()
      } catch (error) {
        if (error instanceof GatewayError) throw error
        throw GatewayError.of('MALFORMED_JSON')
      }
      await next()
    })
  })

/**
 * Names a route's action in the facts before its input is validated, so that a request refused as
 * invalid is still recorded as the action it attempted (route middleware runs before validators).
 */
export const noteAction = (action: Action) =>
  createMiddleware<AppEnv>(async function noteAction(c, next) {
    c.var.facts.action = action
    await next()
  })
