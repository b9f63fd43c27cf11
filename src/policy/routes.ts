/** explain, under /gateway/v1: what the policy would decide for the caller, without doing it. */
import { createRoute, z } from '@hono/zod-openapi'
import { gatewayFailures, ok } from '../lib/openapi'
import { accountIdParam, certificateIdParam } from '../lib/ids'
import { booleanFlag } from '../lib/query'
import { declareAction } from '../pipe'
import { ACTIONS } from './rules'

export const explainRoute = createRoute({
  operationId: 'explain',
  method: 'get',
  path: '/gateway/v1/explain',
  tags: ['Gateway'],
  middleware: [declareAction('explain')] as const,
  request: {
    query: z.strictObject({
      action: z.enum(ACTIONS, { message: `action must be one of ${ACTIONS.join(', ')}` }),
      account_id: accountIdParam,
      mtls_certificate_id: certificateIdParam.optional(),
      ca: booleanFlag('ca').optional(),
    }),
  },
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
    ...gatewayFailures,
  },
})
