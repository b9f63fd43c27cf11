/** The approvals endpoints' handlers: thin; the operations are approve.ts. */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { approveDelete, getApproval, listPendingApprovals } from './approve'
import { rejectApproval, reviewApproval, withdrawApproval } from './decide'
import {
  approveRoute,
  getApprovalRoute,
  listApprovalsRoute,
  rejectRoute,
  reviewApprovalRoute,
  withdrawRoute,
} from './routes'

export const approvalsRouter = createRouter<AppEnv>()
  .openapi(listApprovalsRoute, async (c) => {
    const { cursor, limit } = c.req.valid('query')
    const page = settle(
      c,
      await listPendingApprovals(c.var.scope, { cursor: cursor ?? null, limit }),
    )
    const resultInfo = { count: page.approvals.length, cursor: page.cursor }
    return c.json(successEnvelope(page.approvals, { resultInfo }), 200)
  })
  .openapi(getApprovalRoute, async (c) => {
    const { approval_id: id } = c.req.valid('param')
    return c.json(successEnvelope(settle(c, await getApproval(c.var.scope, id))), 200)
  })
  .openapi(approveRoute, async (c) => {
    const { approval_id: id } = c.req.valid('param')
    return c.json(settle(c, await approveDelete(c.var.scope, id)), 200)
  })
  // Issue 22.
  .openapi(reviewApprovalRoute, async (c) => {
    const { approval_id: id } = c.req.valid('param')
    return c.json(successEnvelope(settle(c, await reviewApproval(c.var.scope, id))), 200)
  })
  .openapi(withdrawRoute, async (c) => {
    const { approval_id: id } = c.req.valid('param')
    const reason = c.req.valid('json')?.reason || undefined
    return c.json(successEnvelope(settle(c, await withdrawApproval(c.var.scope, id, reason))), 200)
  })
  .openapi(rejectRoute, async (c) => {
    const { approval_id: id } = c.req.valid('param')
    const { reason } = c.req.valid('json')
    return c.json(successEnvelope(settle(c, await rejectApproval(c.var.scope, id, reason))), 200)
  })
