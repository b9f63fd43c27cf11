/** whoami, under /gateway/v1 (not an upstream path): who the gateway takes the caller for. */
import { createRoute, z } from '@hono/zod-openapi'
import { failures, ok, tagged } from '../lib/openapi'
import { budgetViewSchema } from '../upstream/budget-gate'
import { declareAction } from '../pipe'

export const whoamiRoute = createRoute({
  operationId: 'whoami',
  method: 'get',
  path: '/gateway/v1/whoami',
  tags: tagged('caller'),
  summary: 'Who am I',
  description:
    "Who the gateway takes the caller for: member, team, roles, how they authenticated, the accounts they may use, and their team's share of the budget. Policy action `whoami`.",
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
    ...failures(undefined),
  },
})
