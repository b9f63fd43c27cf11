/** whoami, under /gateway/v1 (not an upstream path): who the gateway takes the caller for. */
import { createRoute, z } from '@hono/zod-openapi'
import { gatewayFailures, ok } from '../lib/openapi'
import { budgetViewSchema } from '../upstream/budget-gate'
import { declareAction } from '../pipe'

export const whoamiRoute = createRoute({
  operationId: 'whoami',
  method: 'get',
  path: '/gateway/v1/whoami',
  tags: ['Gateway'],
  middleware: [declareAction('whoami')] as const,
  responses: {
    200: ok(
      z.object({
        member: z.string(),
        team: z.string(),
        roles: z.array(z.string()),
        authenticated_by: z.enum(['key', 'access', 'session']).openapi({
          description: 'session: a console session, which only the console pages accept',
        }),
        accounts: z.array(z.string()),
        budget: budgetViewSchema
          .nullable()
          .openapi({ description: 'null while the coordinator cannot be reached' }),
      }),
      'The caller',
    ),
    ...gatewayFailures,
  },
})
