/**
 * The gateway's own endpoints, under /gateway/v1 (not an upstream path): who am I, may I (explain),
 * approvals of gated deletes, and assigning a certificate to a team. Same keys, same envelope.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { failure, jsonContent, successEnvelope } from '../lib/openapi'
import { jsonBody } from '../lib/middleware'
import { booleanFlag } from '../lib/query'
import { accountId, certificateId, certificateParams } from '../certificates/schemas'
import { ACTIONS } from '../policy/rules'

const ok = <T extends z.ZodType>(result: T, description: string) =>
  jsonContent(successEnvelope(result), description)
const failures = {
  400: failure('Invalid request'),
  401: failure('Missing, malformed or unknown gateway key'),
  403: failure('Denied'),
  404: failure('Not found'),
}
const tags = ['Gateway']

export const whoamiRoute = createRoute({
  operationId: 'whoami',
  method: 'get',
  path: '/gateway/v1/whoami',
  tags,
  responses: {
    200: ok(
      z.object({
        member: z.string(),
        team: z.string(),
        roles: z.array(z.string()),
        authenticated_by: z.string(),
        accounts: z.array(z.string()),
      }),
      'The caller',
    ),
    ...failures,
  },
})

export const explainRoute = createRoute({
  operationId: 'explain',
  method: 'get',
  path: '/gateway/v1/explain',
  tags,
  request: {
    query: z.strictObject({
      action: z.enum(ACTIONS, { message: `action must be one of ${ACTIONS.join(', ')}` }),
      account_id: accountId,
      mtls_certificate_id: certificateId.optional(),
      ca: booleanFlag('ca').optional(),
    }),
  },
  responses: {
    200: ok(
      z.object({
        action: z.string(),
        allowed: z.boolean(),
        rule_ids: z.array(z.string()),
        reason: z.string(),
        approval_required: z
          .object({ roles: z.array(z.string()), ttl_minutes: z.number() })
          .nullable(),
        shadow: z
          .object({ effect: z.string(), rule_ids: z.array(z.string()), reason: z.string() })
          .nullable(),
      }),
      'What the policy would decide, without doing it',
    ),
    ...failures,
  },
})

const approvalParams = z.strictObject({
  approval_id: z.uuid({ message: 'approval_id must be a UUID' }),
})

export const getApprovalRoute = createRoute({
  operationId: 'getApproval',
  method: 'get',
  path: '/gateway/v1/approvals/{approval_id}',
  tags,
  request: { params: approvalParams },
  responses: { 200: ok(z.record(z.string(), z.unknown()), 'The approval'), ...failures },
})

export const approveRoute = createRoute({
  operationId: 'approve',
  method: 'post',
  path: '/gateway/v1/approvals/{approval_id}/approve',
  tags,
  request: { params: approvalParams },
  responses: {
    200: ok(z.record(z.string(), z.unknown()), 'Approved and executed: the deleted certificate'),
    409: failure('Already used'),
    410: failure('Expired'),
    ...failures,
  },
})

export const assignRoute = createRoute({
  operationId: 'assign',
  method: 'put',
  path: '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/owner',
  tags,
  middleware: [jsonBody()] as const,
  request: {
    params: certificateParams,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.strictObject({ team: z.string({ message: 'team is required' }).min(1) }),
        },
      },
    },
  },
  responses: {
    200: ok(
      z.object({
        account_id: z.string(),
        mtls_certificate_id: z.string(),
        team: z.string(),
        previous_team: z.string().nullable(),
      }),
      'The new owner',
    ),
    ...failures,
  },
})
