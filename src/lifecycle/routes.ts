/** What expires, and acknowledging a notice (issue 23), under /gateway/v1 (not upstream paths). */
import { createRoute, z } from '@hono/zod-openapi'
import { accountIdParam, certificateParams } from '../lib/ids'
import { CHANGE, failures, ok, tagged, UPSTREAM_CALL } from '../lib/openapi'
import { declareAction, jsonBody } from '../pipe'

const expiringQuery = z.strictObject({
  within: z
    .string()
    .regex(/^([1-9]\d{0,3})d$/, 'within must be a number of days such as 30d (1d-9999d)')
    .default('30d')
    .openapi({ description: 'How far ahead: `30d` (default) means expiring within 30 days' }),
})

const notice = z.object({
  horizon: z.string(),
  channel: z.string(),
  kind: z.string(),
  state: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number().int(),
})

const successorReadiness = z
  .object({
    ready: z.boolean(),
    reason: z
      .enum(['missing', 'expired', 'not_in_use'])
      .nullable()
      .openapi({ description: 'Why not ready: gone, expired, or not yet in use by every service' }),
    missing_services: z
      .array(z.string())
      .openapi({ description: 'The services the old one served that the successor does not yet' }),
    expires_on: z.string().optional().openapi({ description: 'When an expired successor expired' }),
    checked_at: z.string().openapi({ description: 'When this was checked' }),
    checked_by: z
      .enum(['watch', 'delete', 'named'])
      .openapi({ description: 'The expiry watch, the rotation gate at a delete, or the naming' }),
    age_seconds: z.number().int().openapi({ description: 'Seconds since the check' }),
  })
  .openapi('SuccessorReadiness')

const expiringSuccessor = z
  .object({
    successor_id: z.string(),
    name: z
      .string()
      .optional()
      .openapi({ description: "The successor's name, when it has one the reader may see" }),
    named_by: z.string(),
    named_at: z.string(),
    services: z
      .array(z.string())
      .openapi({ description: 'The services the old one served when the successor was named' }),
    check: successorReadiness.nullable().openapi({
      description:
        'What the last check of the successor found; null when not checked since it was named. Not checked per request: the expiry watch checks at a horizon, the rotation gate at a delete.',
    }),
  })
  .openapi('ExpiringSuccessor')

const expiringCertificate = z
  .object({
    account_id: z.string(),
    id: z.string(),
    name: z.string().optional(),
    ca: z.boolean().optional(),
    team: z.string().nullable().openapi({ description: 'The owning team; null when unowned' }),
    expires_on: z.string(),
    days_left: z.number().int(),
    horizon: z
      .string()
      .nullable()
      .openapi({ description: 'The horizon it stands at (`14d`, `expired`), if any' }),
    notices: z.array(notice),
    acknowledged: z.array(z.string()).openapi({ description: 'Horizons acknowledged' }),
    successor: expiringSuccessor
      .nullable()
      .openapi({ description: 'The successor its team named (rotation pairing), if any' }),
  })
  .openapi('ExpiringCertificate')

export const expiringRoute = createRoute({
  operationId: 'listExpiring',
  method: 'get',
  path: '/gateway/v1/expiring',
  tags: tagged('certificates'),
  summary: 'Certificates that expire soon',
  description:
    "Certificates of the caller's team's accounts expiring within `within` (or expired), soonest first, with owner, horizon, notices, acknowledgements and the named successor with its last readiness check (and its age). Shows what the policy lets the caller list: the team's own, or all for account-wide roles. Read from the account's snapshot (an upstream list only when it is stale).",
  middleware: [declareAction('expiring')] as const,
  request: { query: expiringQuery },
  responses: {
    200: ok(z.array(expiringCertificate), 'Expiring certificates, soonest first'),
    ...failures({ query: expiringQuery }, [...UPSTREAM_CALL]),
  },
})

const acknowledgeBody = z.strictObject({
  horizon: z
    .string()
    .regex(/^(\d{1,3}d|expired)$/, 'horizon must be like 14d, or expired')
    .openapi({ description: 'The horizon of the notice acknowledged: `14d`, `expired`' }),
})

export const acknowledgeRoute = createRoute({
  operationId: 'acknowledgeNotice',
  method: 'post',
  path: '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/acknowledge',
  tags: tagged('certificates'),
  summary: 'Acknowledge an expiry notice',
  description:
    'Says the team knows about the notice at this horizon: it is recorded in the audit chain (an `acknowledgement` entry) and stops the escalation of that notice. Anyone who may see the certificate may acknowledge.',
  middleware: [declareAction('acknowledge'), jsonBody()] as const,
  request: {
    params: certificateParams,
    body: { required: true, content: { 'application/json': { schema: acknowledgeBody } } },
  },
  responses: {
    200: ok(
      z.object({
        certificate_id: z.string(),
        horizon: z.string(),
        first: z.boolean().openapi({ description: 'False when it was acknowledged before' }),
      }),
      'Acknowledged',
    ),
    ...failures({ params: certificateParams, body: acknowledgeBody }, [
      ...CHANGE,
      'ACCOUNT_NOT_FOUND',
      'CERTIFICATE_NOT_FOUND',
      'NOTICE_NOT_FOUND',
    ]),
  },
})

export const calendarUrlRoute = createRoute({
  operationId: 'expiryCalendar',
  method: 'get',
  path: '/gateway/v1/expiring/calendar',
  tags: tagged('certificates'),
  summary: "Your team's expiry calendar URL",
  description:
    "The secret URL of the caller's team's iCalendar feed (`/calendar/<team>/<token>.ics`): subscribe to it in a calendar app. Anyone with the URL can read the team's certificate names and expiry dates; it changes when the gateway's AUDIT_SIGNING_KEY does.",
  middleware: [declareAction('expiring')] as const,
  responses: {
    200: ok(
      z.object({
        team: z.string(),
        path: z.string().openapi({ description: 'Relative to the gateway' }),
      }),
      'The feed URL',
    ),
    ...failures(undefined, []),
  },
})

const successorBody = z.strictObject({
  successor_id: z
    .string()
    .regex(
      /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/,
      'successor_id must be a certificate id',
    )
    .openapi({ description: 'The certificate that replaces this one' }),
})

export const successorRoute = createRoute({
  operationId: 'nameSuccessor',
  method: 'put',
  path: '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/successor',
  tags: tagged('certificates'),
  summary: 'Name the successor of a certificate',
  description:
    "Pairs a certificate with the one that replaces it: from then on a delete of the old one is refused (409/18391) until the successor exists, has not expired and is in use by every service the old one served when it was named; the expiry watch counts a certificate with a ready successor as handled. Who may upload for the certificate's team may name it.",
  middleware: [declareAction('successor'), jsonBody()] as const,
  request: {
    params: certificateParams,
    body: { required: true, content: { 'application/json': { schema: successorBody } } },
  },
  responses: {
    200: ok(
      z.object({
        certificate_id: z.string(),
        successor_id: z.string(),
        services: z.array(z.string()).openapi({ description: 'What the successor must serve' }),
        ready: z.boolean(),
        problem: z.string().nullable(),
      }),
      'The pairing, and whether a delete would pass now',
    ),
    ...failures({ params: certificateParams, body: successorBody }, [
      ...UPSTREAM_CALL,
      ...CHANGE,
      'ACCOUNT_NOT_FOUND',
      'CERTIFICATE_NOT_FOUND',
      'SUCCESSOR_NOT_FOUND',
      'SUCCESSOR_IS_ITSELF',
    ]),
  },
})

// Where undeliverable notices wait (dead-notices.ts): the platform's.
const noticesQuery = z.strictObject({
  state: z.enum(['dead', 'pending', 'delivered']).default('dead').openapi({
    description: 'Which notices: `dead` (default: undeliverable, waiting), `pending`, `delivered`',
  }),
})

const listedNotice = z
  .object({
    account_id: z.string(),
    id: z.string().openapi({ description: 'The notice id (the `webhook-id` a receiver gets)' }),
    certificate_id: z.string(),
    horizon: z.string(),
    channel: z.string().openapi({ description: 'The channel id (never its URL)' }),
    kind: z.string(),
    team: z.string(),
    state: z.enum(['pending', 'delivered', 'dead']),
    attempts: z.number().int(),
    last_reason: z.string().nullable().openapi({ description: 'Why the last attempt failed' }),
    created_at: z.string(),
    settled_at: z.string().nullable(),
  })
  .openapi('Notice')

export const noticesRoute = createRoute({
  operationId: 'listNotices',
  method: 'get',
  path: '/gateway/v1/notices',
  tags: tagged('certificates'),
  summary: 'Notices by delivery state (undeliverable ones by default)',
  description:
    'Every account\'s expiry and drift notices in that state, oldest first: by default the `dead` ones, which were not delivered after their last attempt and wait for an operator to fix the channel and re-queue them. Account-wide roles only (the `audit` action with `owner: "any"`).',
  middleware: [declareAction('notices')] as const,
  request: { query: noticesQuery },
  responses: {
    200: ok(z.array(listedNotice), 'The notices'),
    ...failures({ query: noticesQuery }, ['COORDINATOR_UNAVAILABLE']),
  },
})

const noticeParams = z.strictObject({
  account_id: accountIdParam,
  notice_id: z
    .string()
    .regex(/^msg_[0-9a-f-]{36}$/, 'notice_id must be a notice id (msg_<uuid>)')
    .openapi({
      param: { name: 'notice_id', in: 'path' },
      example: 'msg_2f1c0b6e-8a4d-4c59-9d57-3b1e2a7c9f10',
    }),
})

export const requeueRoute = createRoute({
  operationId: 'requeueNotice',
  method: 'post',
  path: '/gateway/v1/accounts/{account_id}/notices/{notice_id}/requeue',
  tags: tagged('certificates'),
  summary: 'Re-queue an undeliverable notice',
  description:
    'Puts a `dead` notice back in the queue, due now, with its attempts counted afresh, under the same id; on record first. For operators who fixed the channel: the `breaker` action with `owner: "any"`.',
  middleware: [declareAction('requeue')] as const,
  request: { params: noticeParams },
  responses: {
    200: ok(z.object({ id: z.string(), state: z.literal('pending') }), 'Re-queued'),
    ...failures({ params: noticeParams }, [
      ...CHANGE,
      'ACCOUNT_NOT_FOUND',
      'DEAD_NOTICE_NOT_FOUND',
    ]),
  },
})
