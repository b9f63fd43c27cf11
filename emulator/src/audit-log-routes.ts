/**
 * Owns: `GET /client/v4/accounts/:account_id/logs/audit` (Audit Logs v2, contract §7) over
 * account-audit-log.ts, behind the same authentication and rate limit as the certificate store
 * (a page costs one request of the token's budget, as upstream).
 *
 * `since` and `before` are required (400/1473 with a pointer otherwise, like a bad list filter);
 * `direction` asc|desc (default desc); `limit` 1-1000 (default 100); `cursor` is the opaque value
 * of `result_info.cursor` of the page before (what the SDK's CursorPaginationAfter sends back). The
 * `[not]` exclusion filters are not emulated: the gateway filters what it reads itself.
 */
import { Hono } from 'hono'

import type { AppEnv } from './app-env'
import { auditLogOf, parseLogTime } from './account-audit-log'
import { authenticate } from './auth'
import { apiErrors } from './errors'
import { rateLimit } from './rate-limiter'

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000

export function auditLogRoutes() {
  return new Hono<AppEnv>().get('/', authenticate(), rateLimit(), (c) => {
    const time = (name: 'since' | 'before') => {
      const value = c.req.query(name)
      const ms = value === undefined ? NaN : parseLogTime(value)
      if (Number.isNaN(ms))
        throw apiErrors.invalidQuery(name, `${name}: a date or RFC 3339 time is required`)
      return ms
    }
    const sinceMs = time('since')
    const beforeMs = time('before')
    const limitText = c.req.query('limit')
    const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw apiErrors.invalidQuery('limit', `limit: an integer from 1 to ${MAX_LIMIT}`)
    }
    const offset = Number(c.req.query('cursor') === undefined ? 0 : atob(c.req.query('cursor')!))
    if (!Number.isInteger(offset) || offset < 0)
      throw apiErrors.invalidQuery('cursor', 'cursor: unknown')
    const all = auditLogOf(c.req.param('account_id') ?? '', {
      sinceMs,
      beforeMs,
      asc: c.req.query('direction') === 'asc',
    })
    const page = all.slice(offset, offset + limit)
    const more = offset + limit < all.length
    return c.json(
      {
        success: true,
        errors: [],
        messages: [],
        result: page,
        result_info: {
          count: page.length,
          ...(more ? { cursor: btoa(String(offset + limit)) } : {}),
        },
      },
      200,
    )
  })
}
