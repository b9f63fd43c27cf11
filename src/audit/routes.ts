/**
 * The audit review API as data: query, export and verify under /gateway/v1/audit. Every filter is
 * validated here (unknown parameters are refused, with 18103 and a pointer, like the list query).
 */
import { createRoute, z } from '@hono/zod-openapi'
import * as ids from '../lib/ids'
import { failures, jsonContent, successEnvelope, tagged } from '../lib/openapi'
import { declareAction } from '../pipe'
import { auditEntrySchema, OUTCOME_CLASSES } from './entry'
import { AUDITED_ACTIONS } from './record'
import { PAGE_VIEWS, type PageViews } from './filters'
import { MAX_VERIFY_PAGE, verifyReportSchema } from './verify'
import { checkpointSchema, keptCheckpointSchema } from './checkpoint'
import { publicKeySchema } from './ed25519'
import { chainReportSchema } from './verify-chain'

const slug = ids.slugReference()
const instant = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' })

const range = {
  from: instant.optional().openapi({ description: 'Oldest time included (default: retention)' }),
  to: instant.optional().openapi({ description: 'Newest time included (default: now)' }),
  cursor: z.string().max(4096).optional().openapi({ description: 'From the previous page' }),
}

const fromBeforeTo = (query: { from?: string; to?: string }, ctx: z.RefinementCtx) => {
  if (query.from && query.to && Date.parse(query.from) > Date.parse(query.to)) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must not be after to' })
  }
}

const filters = {
  ...range,
  team: slug.optional(),
  member: slug.optional(),
  action: z.enum(AUDITED_ACTIONS).optional(),
  decision: z.enum(['allow', 'deny', 'none']).optional(),
  outcome: z.enum(OUTCOME_CLASSES).optional(),
  certificate: ids.certificateId().optional(),
  request_id: ids.requestId().optional(),
  // Issue 20: entries decided under one policy revision.
  policy_revision: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be a policy revision id (64 lowercase hex digits)')
    .optional(),
  // Issue 22: the name entries record (as uploaded, or as the ledger or the upstream knew it).
  certificate_name: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Entries about a certificate of exactly this name' }),
  certificate_name_prefix: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Entries about a certificate whose name starts with this' }),
}

/**
 * Issue 22 (review-audit): reads apart from changes, and the console's page views. The query
 * hides page views unless asked; an export keeps them unless asked, so that an export with no
 * filter stays one the offline verifier can check whole (verify-export.ts).
 */
const changesOnly = z
  .enum(['true', 'false'])
  .default('false')
  .openapi({ description: 'true: changes only, reads (GET requests) left out' })
const pageViews = (fallback: PageViews) =>
  z
    .enum(PAGE_VIEWS)
    .default(fallback)
    .openapi({
      description: `The review console's own page views: hide, include, or only them (default: ${fallback})`,
    })

const limit = (max: number, fallback: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback)

export const auditQuery = z
  .strictObject({
    ...filters,
    changes_only: changesOnly,
    page_views: pageViews('hide'),
    limit: limit(1000, 100),
  })
  .superRefine(fromBeforeTo)
export const exportQuery = z
  .strictObject({
    ...filters,
    changes_only: changesOnly,
    page_views: pageViews('include'),
    format: z.enum(['ndjson', 'csv']).default('ndjson'),
    limit: limit(100_000, 100_000),
  })
  .superRefine(fromBeforeTo)
export const verifyQuery = z
  .strictObject({ ...range, limit: limit(MAX_VERIFY_PAGE, 100) })
  .superRefine(fromBeforeTo)

const chainParam = z
  .union([ids.accountId(), z.literal('gateway')])
  .openapi({ description: 'An account id, or "gateway" for the entries that name no account' })

export const checkpointQuery = z.strictObject({ chain: chainParam })

export const chainQuery = z.strictObject({
  chain: chainParam,
  from_seq: z.coerce.number().int().min(1).default(1),
  limit: limit(MAX_VERIFY_PAGE, 100),
})

const notes = {
  400: 'Invalid query (source.pointer names the parameter)',
  403: 'Denied by policy (action audit)',
}
/** The entries' chains are read from the coordinator, which fails closed. */
const failuresReadingChains = (query: z.ZodType) =>
  failures({ query }, ['COORDINATOR_UNAVAILABLE'], notes)
const tags = tagged('audit')

export const queryRoute = createRoute({
  operationId: 'auditQuery',
  method: 'get',
  path: '/gateway/v1/audit',
  tags,
  summary: 'Query the audit log',
  description:
    'The entries in a time range, newest first, filtered by team, member, action, decision, outcome, certificate or request id, a page at a time. Policy action `audit`.',
  middleware: [declareAction('audit')] as const,
  request: { query: auditQuery },
  responses: {
    200: jsonContent(
      successEnvelope(
        z.array(auditEntrySchema),
        z.object({ count: z.number(), cursor: z.string().nullable() }),
      ),
      'Entries, newest first; follow result_info.cursor while it is not null',
    ),
    ...failures({ query: auditQuery }, [], notes),
  },
})

export const exportRoute = createRoute({
  operationId: 'auditExport',
  method: 'get',
  path: '/gateway/v1/audit/export',
  tags,
  summary: 'Export the audit log',
  description:
    'The same query as the audit query, streamed whole as NDJSON (each line with its KV key and metadata, so that `npm run audit:verify` can check it offline) or CSV, closed by a signed marker that says whether the export is complete. Policy action `audit`.',
  middleware: [declareAction('audit')] as const,
  request: { query: exportQuery },
  responses: {
    200: {
      content: {
        'application/x-ndjson': { schema: z.string() },
        'text/csv': { schema: z.string() },
      },
      description: 'The query, streamed: one entry per line (NDJSON, with `_kv`) or CSV',
    },
    ...failures({ query: exportQuery }, [], notes),
  },
})

export const verifyRoute = createRoute({
  operationId: 'auditVerify',
  method: 'get',
  path: '/gateway/v1/audit/verify',
  tags,
  summary: 'Verify a range of the audit log',
  description:
    "Checks one page of a time range as the gateway wrote it: each entry's signature, and its place in its account's hash chain. Reports what is missing, altered or out of place. Policy action `audit`.",
  middleware: [declareAction('audit')] as const,
  request: { query: verifyQuery },
  responses: {
    200: jsonContent(
      successEnvelope(verifyReportSchema.extend({ cursor: z.string().nullable() })),
      'What one page of the range holds that is not as the gateway wrote it',
    ),
    ...failuresReadingChains(verifyQuery),
  },
})

export const chainRoute = createRoute({
  operationId: 'auditVerifyChain',
  method: 'get',
  path: '/gateway/v1/audit/verify/chain',
  tags,
  summary: 'Verify a hash chain',
  description:
    "Walks one chain (an account's, or `gateway`) in number order from `from_seq`, checking each entry against the coordinator's links: a deleted or rewritten entry breaks it. Policy action `audit`.",
  middleware: [declareAction('audit')] as const,
  request: { query: chainQuery },
  responses: {
    200: jsonContent(
      successEnvelope(chainReportSchema),
      "One page of a chain, in number order, checked against the coordinator's links",
    ),
    ...failuresReadingChains(chainQuery),
  },
})

export const checkpointRoute = createRoute({
  operationId: 'auditCheckpoint',
  method: 'get',
  path: '/gateway/v1/audit/checkpoint',
  tags,
  summary: "Sign a chain's head",
  description:
    "The chain's head now, signed with the gateway's Ed25519 key: kept outside Cloudflare, it proves later that the chain was not rewritten before that point. Policy action `audit`.",
  middleware: [declareAction('audit')] as const,
  request: { query: checkpointQuery },
  responses: {
    200: jsonContent(
      successEnvelope(checkpointSchema.nullable()),
      "The chain's head now, signed (null for a chain with no entry yet): keep it outside Cloudflare",
    ),
    ...failuresReadingChains(checkpointQuery),
  },
})

export const checkpointsQuery = z.strictObject({ chain: chainParam, limit: limit(1000, 100) })

export const checkpointsRoute = createRoute({
  operationId: 'auditCheckpoints',
  method: 'get',
  path: '/gateway/v1/audit/checkpoints',
  tags,
  summary: "List a chain's hourly checkpoints",
  description:
    'The signed checkpoints the gateway took of a chain every hour, newest first, for collecting outside Cloudflare. Policy action `audit`.',
  middleware: [declareAction('audit')] as const,
  request: { query: checkpointsQuery },
  responses: {
    200: jsonContent(
      successEnvelope(z.array(keptCheckpointSchema)),
      'The hourly checkpoints of the chain, newest first: collect them and keep them outside Cloudflare',
    ),
    ...failures({ query: checkpointsQuery }, [], notes),
  },
})

const noQuery = z.strictObject({})

export const publicKeyRoute = createRoute({
  operationId: 'auditPublicKey',
  method: 'get',
  path: '/gateway/v1/audit/public-key',
  tags,
  summary: 'Get the audit public key',
  description:
    'The Ed25519 public key (JWK) that checks checkpoints and export markers. Pin it where checkpoints are kept. Policy action `audit`.',
  middleware: [declareAction('audit')] as const,
  request: { query: noQuery },
  responses: {
    200: jsonContent(
      successEnvelope(publicKeySchema),
      'The Ed25519 public key (JWK) that checks checkpoints and export markers: pin it',
    ),
    ...failures({ query: noQuery }, [], notes),
  },
})
