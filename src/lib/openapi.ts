/**
 * The building blocks every route definition shares, so that every feature's route file describes
 * its answers the same way: JSON content, the success envelope, and the failure envelope.
 */
import { z } from '@hono/zod-openapi'
import { errorEnvelopeSchema } from './envelope'

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
})

/** Cloudflare's success envelope around `result`, with `result_info` when the result is a page. */
export const successEnvelope = <T extends z.ZodType>(result: T, resultInfo?: z.ZodType) =>
  z.object({
    success: z.literal(true),
    errors: z.array(z.unknown()),
    messages: z.array(z.unknown()),
    result,
    ...(resultInfo ? { result_info: resultInfo } : {}),
  })

export const failure = (description: string) => jsonContent(errorEnvelopeSchema, description)

/** A JSON success answer: the envelope around `result`. */
export const ok = <T extends z.ZodType>(result: T, description: string) =>
  jsonContent(successEnvelope(result), description)

/** The failures every authenticated gateway endpoint (under /gateway/v1) can answer. */
export const gatewayFailures = {
  400: failure('Invalid request'),
  401: failure('Missing, malformed or unknown gateway key'),
  403: failure('Denied'),
  404: failure('Not found'),
}
