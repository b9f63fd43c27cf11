/**
 * For routes that take a body: only JSON (UTF-8), at most `maxBytes`, and it must parse. Without a
 * Content-Length the size cap is enforced while the stream is read.
 */
import type { Context, Next } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { GatewayError } from './errors'

const JSON_MEDIA_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i

export async function readJsonBody(c: Context, maxSize: number, next: Next): Promise<void> {
  if (!JSON_MEDIA_TYPE.test(c.req.header('content-type') ?? '')) {
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
