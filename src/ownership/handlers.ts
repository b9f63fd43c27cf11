/** assign's and the transfer requests' handlers: thin; the operations are assign.ts, transfer.ts. */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { assignOwner } from './assign'
import { approveTransferRoute, assignRoute, fileTransferRoute, listTransfersRoute } from './routes'
import { approveTransfer, fileTransfer, listTransfers } from './transfer'

export const ownershipRouter = createRouter<AppEnv>()
  .openapi(assignRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const { team, override_quota: overrideQuota } = c.req.valid('json')
    const input = { accountId, certificateId, team, overrideQuota }
    return c.json(successEnvelope(settle(c, await assignOwner(c.var.scope, input))), 200)
  })
  .openapi(fileTransferRoute, async (c) => {
    const { account_id: accountId } = c.req.valid('param')
    const inspected = c.req.valid('json')
    const outcome = await fileTransfer(c.var.scope, { accountId, inspected })
    return c.json(successEnvelope(settle(c, outcome)), 200)
  })
  .openapi(listTransfersRoute, async (c) => {
    const { account_id: accountId } = c.req.valid('param')
    return c.json(successEnvelope(settle(c, await listTransfers(c.var.scope, { accountId }))), 200)
  })
  .openapi(approveTransferRoute, async (c) => {
    const { transfer_id: id } = c.req.valid('param')
    return c.json(successEnvelope(settle(c, await approveTransfer(c.var.scope, id))), 200)
  })
