/**
 * Owns: the record of every API request the emulator received (including refused and faulted ones),
 * oldest first, so the gateway's tests can assert exactly what reached "Cloudflare": method, path,
 * raw query, headers (lowercase names, values verbatim, credentials included: this is a test
 * double) and body text.
 *
 * Control calls are never recorded. The log keeps at most MAX_ENTRIES (oldest dropped) so a long
 * `wrangler dev` session cannot grow it without bound.
 */

import type { MiddlewareHandler } from 'hono'

import type { AppEnv } from './app-env'

export type LoggedRequest = {
  method: string
  path: string
  /** Raw query string without the leading `?` ('' when there is none). */
  query: string
  headers: Record<string, string>
  /** Body text; `null` when the request had no body. */
  body: string | null
  /** When it arrived (ISO 8601). */
  at: string
}

const MAX_ENTRIES = 10_000
const entries: LoggedRequest[] = []

export function listRequests(): LoggedRequest[] {
  return [...entries]
}

export function clearRequests(): void {
  entries.length = 0
}

export const recordRequest: MiddlewareHandler<AppEnv> = async function recordRequest(c, next) {
  const url = new URL(c.req.url)
  // Reading through HonoRequest caches the text, so handlers can still read the body afterwards.
  const body = c.req.raw.body === null ? null : await c.req.text()
  entries.push({
    method: c.req.method,
    path: url.pathname,
    query: url.search.replace(/^\?/, ''),
    headers: Object.fromEntries([...c.req.raw.headers].map(([k, v]) => [k.toLowerCase(), v])),
    body,
    at: new Date().toISOString(),
  })
  if (entries.length > MAX_ENTRIES) entries.splice(0, entries.length - MAX_ENTRIES)
  await next()
}
