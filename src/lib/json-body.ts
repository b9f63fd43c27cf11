/**
 * For routes that take a body: only JSON (UTF-8), at most `maxSize` bytes, and it must parse.
 * Without a Content-Length the size cap is enforced while the stream is read.
 *
 * JSON is taken as Cloudflare takes it: sent as `application/json` or as `text/plain` (wrangler
 * sends its uploads as `text/plain;charset=UTF-8`), with no charset or one naming UTF-8. Accepting
 * `text/plain` is safe because the API authenticates only by the `Authorization` header, never
 * by a cookie: a cross-site form post, the one thing a browser sends as `text/plain` without a
 * preflight, carries no credential and is refused 401 (test/gateway/media-type.security.test.ts).
 *
 * `asJsonRequest` runs first, at the Worker's entry: it relabels UTF-8 `text/plain` as
 * `application/json`, so that everything after it (this check, the route's schema validation, the
 * OpenAPI) deals with one media type.
 */
import type { Context, Next } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { GatewayError } from './errors'

const JSON_MEDIA_TYPES = new Set(['application/json', 'text/plain'])
const UTF8 = new Set(['utf-8', 'utf8'])

/** Whether a Content-Type names JSON as the gateway takes it: a JSON media type, UTF-8 if any charset. */
function isJsonMediaType(contentType: string | undefined): boolean {
  const [type, ...parameters] = (contentType ?? '').split(';')
  if (!JSON_MEDIA_TYPES.has(type!.trim().toLowerCase())) return false
  return parameters.every((parameter) => {
    const [name, value = ''] = parameter.split('=')
    if (name!.trim().toLowerCase() !== 'charset') return true
    return UTF8.has(
      value
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase(),
    )
  })
}

/** The request as the rest of the pipe sees it: UTF-8 `text/plain` relabelled `application/json`. */
export function asJsonRequest(request: Request): Request {
  const contentType = request.headers.get('content-type') ?? ''
  const isText = contentType.split(';')[0]!.trim().toLowerCase() === 'text/plain'
  if (!isText || !isJsonMediaType(contentType)) return request
  const headers = new Headers(request.headers)
  headers.set('content-type', 'application/json')
  return new Request(request, { headers })
}

export async function readJsonBody(c: Context, maxSize: number, next: Next): Promise<void> {
  if (!isJsonMediaType(c.req.header('content-type'))) {
    throw GatewayError.of('UNSUPPORTED_MEDIA_TYPE', { pointer: '/headers/content-type' })
  }
  const limit = bodyLimit({
    maxSize,
    onError: () => {
      throw GatewayError.of('BODY_TOO_LARGE', {
        message: `The request body is larger than ${maxSize} bytes`,
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
}
