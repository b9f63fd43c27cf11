/**
 * The Cloudflare v4 API envelope, which every gateway answer uses, success or failure.
 *
 * The schema is also how the gateway recognises a real upstream answer: anything that does not
 * parse as an envelope is treated as an upstream failure (502), never relayed.
 */
import { z } from '@hono/zod-openapi'
import type { ErrorDetail } from './errors'

const messageSchema = z
  .object({
    code: z.number().int(),
    message: z.string(),
    documentation_url: z.string().optional(),
    source: z.object({ pointer: z.string() }).optional(),
  })
  .passthrough()

/** What an upstream answer must look like to be relayed. Extra fields are kept, not stripped. */
export const upstreamEnvelopeSchema = z
  .object({
    success: z.boolean(),
    errors: z.array(messageSchema),
    messages: z.array(z.unknown()),
    result: z.unknown().optional(),
    result_info: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough()

export type UpstreamEnvelope = z.infer<typeof upstreamEnvelopeSchema>

export interface FailureEnvelope {
  success: false
  errors: ErrorDetail[]
  messages: []
  result: null
}

/** The gateway's own successes, in the upstream's envelope. */
export function successEnvelope<T, I extends object | undefined = undefined>(
  result: T,
  options: { messages?: ErrorDetail[]; resultInfo?: I } = {},
) {
  return {
    success: true as const,
    errors: [] as ErrorDetail[],
    messages: options.messages ?? [],
    result,
    ...(options.resultInfo !== undefined ? { result_info: options.resultInfo } : {}),
  }
}

export function failureEnvelope(errors: ErrorDetail[]): FailureEnvelope {
  return { success: false, errors, messages: [], result: null }
}

/** OpenAPI description of the failure envelope, shared by every route definition. */
export const errorEnvelopeSchema = z
  .object({
    success: z.literal(false),
    errors: z.array(messageSchema),
    messages: z.array(z.unknown()),
    result: z.null(),
  })
  .openapi('ErrorEnvelope')
