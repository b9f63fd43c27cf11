/** The breaker's close, under /gateway/v1 (not an upstream path). */
import { createRoute, z } from '@hono/zod-openapi'
import { CHANGE, failures, ok, tagged } from '../lib/openapi'
import { declareAction } from '../pipe'

export const closeBreakerRoute = createRoute({
  operationId: 'closeBreaker',
  method: 'post',
  path: '/gateway/v1/budget/breaker/close',
  tags: tagged('budget'),
  summary: 'Close the breaker',
  description:
    'Closes the breaker for every isolate (within 5 s): requests go upstream again as the budget allows. Policy action `breaker`, account-wide.',
  middleware: [declareAction('breaker')] as const,
  responses: {
    200: ok(
      z.object({
        was_open: z.boolean(),
        remaining_seconds: z
          .number()
          .int()
          .openapi({ description: 'What the breaker had left when it was closed' }),
      }),
      'The breaker is closed',
    ),
    ...failures(undefined, CHANGE, {
      503: 'The audit log or the coordinator cannot be reached: nothing was closed',
    }),
  },
})
