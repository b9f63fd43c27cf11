/** What expires, and acknowledgements (issue 23): thin; the operations are expiring.ts. */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { acknowledgeNotice, calendarUrl, listExpiring } from './expiring'
import { listNotices, requeueNotice } from './dead-notices'
import {
  acknowledgeRoute,
  calendarUrlRoute,
  expiringRoute,
  noticesRoute,
  requeueRoute,
  successorRoute,
} from './routes'
import { nameSuccessor } from './successor'

export const lifecycleRouter = createRouter<AppEnv>()
  .openapi(calendarUrlRoute, async (c) => {
    const outcome = await calendarUrl(c.var.scope, c.var.config.audit.signingKey)
    return c.json(successEnvelope(settle(c, outcome)), 200)
  })
  .openapi(expiringRoute, async (c) => {
    const withinDays = Number(c.req.valid('query').within.slice(0, -1))
    return c.json(successEnvelope(settle(c, await listExpiring(c.var.scope, { withinDays }))), 200)
  })
  .openapi(acknowledgeRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const { horizon } = c.req.valid('json')
    const outcome = await acknowledgeNotice(c.var.scope, { accountId, certificateId, horizon })
    return c.json(successEnvelope(settle(c, outcome)), 200)
  })
  .openapi(successorRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const { successor_id: successorId } = c.req.valid('json')
    const outcome = await nameSuccessor(c.var.scope, { accountId, certificateId, successorId })
    return c.json(successEnvelope(settle(c, outcome)), 200)
  })
  .openapi(noticesRoute, async (c) => {
    const { state } = c.req.valid('query')
    return c.json(successEnvelope(settle(c, await listNotices(c.var.scope, { state }))), 200)
  })
  .openapi(requeueRoute, async (c) => {
    const { account_id: accountId, notice_id: noticeId } = c.req.valid('param')
    const outcome = await requeueNotice(c.var.scope, { accountId, noticeId })
    return c.json(successEnvelope(settle(c, outcome)), 200)
  })
