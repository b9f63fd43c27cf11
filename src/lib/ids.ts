/**
 * The identifiers the gateway accepts, in one place: what an account id, a certificate id, a
 * request id and a slug (team, member, role and rule ids) look like, as patterns and as zod
 * schemas. Ids a caller sends pass one of these before they reach a KV key, an upstream path or a
 * policy lookup, so each has one spelling (lowercase only): ownership, audit and policy key on it.
 *
 * The schemas' messages say what is expected; `field` names the parameter where a message is read
 * without its pointer (path parameters). Imports nothing of the gateway's.
 */
import { z } from '@hono/zod-openapi'

const UUID_BODY = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

/** A lowercase UUID of any version. */
export const UUID = new RegExp(`^${UUID_BODY}$`)
/** Cloudflare account ids: 32 lowercase hex. */
export const ACCOUNT_ID = /^[0-9a-f]{32}$/
/**
 * Certificate ids: real ones are UUIDs; the SDKs' own tests use 32 hex characters. Both are
 * accepted, lowercase only.
 */
export const CERTIFICATE_ID = new RegExp(`^(?:${UUID_BODY}|[0-9a-f]{32})$`)
/** Team, member, role and rule ids: 1-63 characters, starting with a letter or a digit. */
export const SLUG = /^[a-z0-9][a-z0-9._-]{0,62}$/

const named = (field: string | undefined, message: string) =>
  field === undefined ? message : `${field} ${message}`

export const accountId = (field?: string) =>
  z.string().regex(ACCOUNT_ID, named(field, 'must be 32 lowercase hexadecimal characters'))

export const certificateId = (field?: string) =>
  z
    .string()
    .regex(
      CERTIFICATE_ID,
      named(field, 'must be a lowercase UUID or 32 lowercase hexadecimal characters'),
    )

/** Approval ids are minted by `crypto.randomUUID()`: lowercase, like every id here. */
export const approvalId = () => z.string().regex(UUID, 'approval_id must be a UUID')

/** Request ids are minted as UUIDv7 (lib/uuidv7.ts); any lowercase UUID is a well-formed one. */
export const requestId = () => z.string().regex(UUID, 'must be a request id')

/**
 * Two wordings, both kept as callers know them: the policy document's ids spell the rule out, a
 * rule's subjects and the audit filters say it short.
 */
export const slug = (message = 'must be 1-63 lowercase letters, digits, ".", "_" or "-"') =>
  z.string().regex(SLUG, message)
export const slugReference = () => slug('must be a lowercase slug')

/** The upstream's path ids, as every route that takes them declares them (and the explain query). */
export const accountIdParam = accountId('account_id').openapi({
  example: '023e105f4ecef8ad9ca31a8372d0c353',
})

export const certificateIdParam = certificateId('mtls_certificate_id').openapi({
  example: '2458ce5a-0c35-4c7f-82c7-8e9487d3ff60',
})

export const accountParams = z.strictObject({
  account_id: accountIdParam.openapi({ param: { name: 'account_id', in: 'path' } }),
})

export const certificateParams = z.strictObject({
  account_id: accountIdParam.openapi({ param: { name: 'account_id', in: 'path' } }),
  mtls_certificate_id: certificateIdParam.openapi({
    param: { name: 'mtls_certificate_id', in: 'path' },
  }),
})
