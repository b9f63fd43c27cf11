/** explain's handler: thin; the operation is explain.ts. */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { explain } from './explain'
import { explainRoute } from './routes'

export const policyRouter = createRouter<AppEnv>().openapi(explainRoute, async (c) => {
  const query = c.req.valid('query')
  const input = {
    action: query.action,
    accountId: query.account_id,
    ...(query.mtls_certificate_id !== undefined
      ? { certificateId: query.mtls_certificate_id }
      : {}),
    ...(query.ca !== undefined ? { ca: query.ca } : {}),
  }
  return c.json(successEnvelope(settle(c, await explain(c.var.scope, input))), 200)
})
