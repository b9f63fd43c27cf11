/** The approvals endpoints' handlers: thin; the operations are approve.ts. */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { approveDelete, getApproval } from './approve'
import { approveRoute, getApprovalRoute } from './routes'

export const approvalsRouter = createRouter<AppEnv>()
  .openapi(getApprovalRoute, async (c) => {
    const { approval_id: id } = c.req.valid('param')
    return c.json(successEnvelope(settle(c, await getApproval(c.var.scope, id))), 200)
  })
  .openapi(approveRoute, async (c) => {
    const { approval_id: id } = c.req.valid('param')
    return c.json(settle(c, await approveDelete(c.var.scope, id)), 200)
  })
