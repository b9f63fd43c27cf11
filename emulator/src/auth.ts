/**
 * Owns: the upstream's credential check (contract §5). Only `Authorization: Bearer <token>` with
 * the configured EMULATOR_API_TOKEN is accepted, compared in constant time.
 *
 * - no Authorization, X-Auth-Key or X-Auth-Email header: 400, 9106
 * - an Authorization header that is not `Bearer <token>`: 400, 6003 (error_chain 6111)
 * - a wrong token, or only X-Auth-Key/X-Auth-Email (the emulator knows no API keys): 403, 10000
 */

import type { MiddlewareHandler } from 'hono'
import { timingSafeEqual } from 'hono/utils/buffer'

import type { AppEnv } from './app-env'
import { apiErrors } from './errors'

const BEARER = /^Bearer +(\S+) *$/i

export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function bearerAuth(c, next) {
    const authorization = c.req.header('authorization')
    if (authorization === undefined) {
      const hasKeyCredentials =
        c.req.header('x-auth-key') !== undefined || c.req.header('x-auth-email') !== undefined
      throw hasKeyCredentials ? apiErrors.authentication() : apiErrors.missingCredentials()
    }
    const token = BEARER.exec(authorization)?.[1]
    if (token === undefined) throw apiErrors.malformedAuthorization()
    if (!(await timingSafeEqual(token, c.env.EMULATOR_API_TOKEN))) {
      throw apiErrors.authentication()
    }
    await next()
  }
}
