/** explain, under /gateway/v1: what the policy would decide for the caller, without doing it. */
import { createRoute, z } from '@hono/zod-openapi'
import { failures, ok, tagged, UPSTREAM_CALL } from '../lib/openapi'
import { accountIdParam, certificateIdParam } from '../lib/ids'
import { booleanFlag } from '../lib/query'
import { declareAction } from '../pipe'
import { ACTIONS } from './rules'

const explainQuery = z.strictObject({
  action: z.enum(ACTIONS, { message: `action must be one of ${ACTIONS.join(', ')}` }),
  account_id: accountIdParam,
  mtls_certificate_id: certificateIdParam.optional(),
  ca: booleanFlag('ca').optional(),
})

export const explainRoute = createRoute({
  operationId: 'explain',
  method: 'get',
  path: '/gateway/v1/explain',
  tags: tagged('caller'),
  summary: 'Explain a policy decision',
  description:
    "What the policy would decide if the caller attempted `action` on the account (and certificate), with the rules that decided and the shadow rules' verdict, without doing it. It reveals no more than asking would: a certificate the caller may not see is not found. Policy action `explain`.",
  middleware: [declareAction('explain')] as const,
  request: { query: explainQuery },
  responses: {
    200: ok(
      z.object({
        action: z.enum(ACTIONS),
        allowed: z.boolean(),
        rule_ids: z.array(z.string()),
        reason: z.string(),
        approval_required: z
          .object({ roles: z.array(z.string()), ttl_minutes: z.number() })
          .nullable(),
        shadow: z
          .object({
            effect: z.enum(['allow', 'deny']),
            rule_ids: z.array(z.string()),
            reason: z.string(),
          })
          .nullable(),
      }),
      'What the policy would decide, without doing it',
    ),
    ...failures({ query: explainQuery }, [...UPSTREAM_CALL, 'CERTIFICATE_NOT_FOUND']),
  },
})
