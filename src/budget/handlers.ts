/** The breaker close's handler: thin; the operation is close-breaker.ts. */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { closeBreaker } from './close-breaker'
import { closeBreakerRoute } from './routes'

export const budgetRouter = createRouter<AppEnv>().openapi(closeBreakerRoute, async (c) =>
  c.json(successEnvelope(settle(c, await closeBreaker(c.var.scope))), 200),
)
