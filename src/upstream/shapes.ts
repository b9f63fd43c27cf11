/**
 * The upstream's answers as the gateway relies on them: one schema per result, used twice. The
 * upstream port checks every successful answer against its request's schema (an answer without
 * the result it promises is an upstream failure, 502, never relayed or acted on), through a check
 * compiled from the schema (result-check.ts: it reads, where a zod parse would copy every
 * certificate), and the route definitions document the same schemas. Objects are loose: fields
 * the upstream adds pass through to the caller unchanged, because wire compatibility means
 * relaying the upstream's shape.
 *
 * Only what the gateway itself relies on is required (a certificate's `id`); the other documented
 * fields are typed but optional, so that an upstream answer is refused for being wrong, never for
 * omitting a field the gateway does not read.
 */
import { z } from '@hono/zod-openapi'
import { listCheck, objectCheck } from './result-check'

export const mtlsCertificate = z
  .looseObject({
    id: z.string(),
    ca: z.boolean().optional(),
    certificates: z.string().optional(),
    expires_on: z.string().optional(),
    issuer: z.string().optional(),
    // Free-form labels the gateway never decides on: a null is relayed as sent.
    name: z.string().nullish(),
    serial_number: z.string().optional(),
    signature: z.string().optional(),
    type: z.string().nullish(),
    uploaded_on: z.string().optional(),
  })
  .openapi('MTLSCertificate')
export type MtlsCertificate = z.infer<typeof mtlsCertificate>

export const uploadedCertificate = mtlsCertificate.extend({ updated_at: z.string().optional() })

// Both fields are optional in the API reference, and the gateway reads neither to decide: an
// association is an association (refuseInUse names a missing one "unknown").
export const association = z.looseObject({
  service: z.string().optional(),
  status: z.string().optional(),
})
export type Association = z.infer<typeof association>

/**
 * A list's `result`. The official SDK reads a null result as an empty page (upstream-contract.md),
 * so the gateway does too for the list, and answers `[]`. Not for associations: before a delete, an
 * associations answer that is not a list must never be read as "not in use".
 */
export const certificateList = z
  .array(mtlsCertificate)
  .nullable()
  .transform((certificates) => certificates ?? [])
export const associationList = z.array(association)

/** The checks the upstream port runs, one per schema above. */
export const resultChecks = {
  certificate: objectCheck(mtlsCertificate),
  uploadedCertificate: objectCheck(uploadedCertificate),
  certificateList: listCheck(mtlsCertificate, { nullAsEmpty: true }),
  associationList: listCheck(association, { nullAsEmpty: false }),
}
