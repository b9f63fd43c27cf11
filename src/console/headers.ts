/**
 * What every console answer carries. The Content-Security-Policy is strict: nothing runs (the
 * console has no script at all; `script-src 'none'` also refuses any script an escaping bug let
 * through), styles and images come only from the console's own files (no inline style, no CDN),
 * forms post only to the console itself, and no other site may frame it. Pages hold what the
 * member may see, so no cache keeps them.
 */
import { createMiddleware } from 'hono/factory'

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

export const consoleHeaders = (options: { cache: 'none' | 'static' } = { cache: 'none' }) =>
  createMiddleware(async function consoleHeaders(c, next) {
    await next()
    const headers = c.res.headers
    headers.set('content-security-policy', CONTENT_SECURITY_POLICY)
    headers.set('x-content-type-options', 'nosniff')
    // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` with the console's
    // own form posts, which csrf.ts must then refuse.
    headers.set('referrer-policy', 'same-origin')
    headers.set('x-frame-options', 'DENY')
    headers.set('cross-origin-opener-policy', 'same-origin')
    headers.set('cross-origin-resource-policy', 'same-origin')
    headers.set('cache-control', options.cache === 'static' ? 'public, max-age=86400' : 'no-store')
  })
