/** Assigning a certificate to a team, under /gateway/v1 (not an upstream path). */
import { createRoute, z } from '@hono/zod-openapi'
import { certificateParams } from '../lib/ids'
import { gatewayFailures, ok } from '../lib/openapi'
import { declareAction, jsonBody } from '../pipe'

export const assignRoute = createRoute({
  operationId: 'assign',
  method: 'put',
  path: '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/owner',
  tags: ['Gateway'],
  middleware: [declareAction('assign'), jsonBody()] as const,
  request: {
    params: certificateParams,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.strictObject({
            team: z.string({ message: 'team is required' }).min(1),
            override_quota: z.boolean().optional().openapi({
              description:
                "Assign a CA certificate even past the team's CA quota (recorded in the audit log)",
            }),
          }),
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
    ...gatewayFailures,
  },
})
