/** assign's handler: thin; the operation is assign.ts. */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { assignOwner } from './assign'
import { assignRoute } from './routes'

export const ownershipRouter = createRouter<AppEnv>().openapi(assignRoute, async (c) => {
  const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
  const { team, override_quota: overrideQuota } = c.req.valid('json')
  const outcome = await assignOwner(c.var.scope, { accountId, certificateId, team, overrideQuota })
  return c.json(successEnvelope(settle(c, outcome)), 200)
})
