/**
 * The audit review API's handlers: thin. Each calls one review operation (review.ts) on the
 * request scope with the validated query; the operation asks the policy whether the caller may
 * read the log (action `audit`) and reads it through the scope's audit log (audit-log.ts).
 */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { encodeCursor } from './query'
import {
  auditPublicKey,
  chainOf,
  checkpointOf,
  checkpointsOf,
  exportLog,
  queryLog,
  verifyLog,
} from './review'
import {
  chainRoute,
  checkpointRoute,
  checkpointsRoute,
  exportRoute,
  publicKeyRoute,
  queryRoute,
  verifyRoute,
} from './routes'

export const auditRouter = createRouter<AppEnv>()
  .openapi(queryRoute, async (c) => {
    const { page } = settle(c, await queryLog(c.var.scope, c.req.valid('query')))
    const cursor = page.cursor ? encodeCursor(page.cursor) : null
    return c.json(
      successEnvelope(page.entries, { resultInfo: { count: page.entries.length, cursor } }),
      200,
    )
  })
  .openapi(exportRoute, async (c) => {
    const query = c.req.valid('query')
    const covered = query.cursor !== undefined ? { cursor: query.cursor } : {}
    const stream = settle(c, await exportLog(c.var.scope, query, covered))
    return c.body(stream, 200, {
      'content-type':
        query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="audit.${query.format}"`,
    })
  })
  .openapi(verifyRoute, async (c) => {
    const report = settle(c, await verifyLog(c.var.scope, c.req.valid('query')))
    const cursor = report.cursor ? encodeCursor(report.cursor) : null
    return c.json(successEnvelope({ ...report, cursor }), 200)
  })
  .openapi(chainRoute, async (c) => {
    const report = settle(c, await chainOf(c.var.scope, c.req.valid('query')))
    return c.json(successEnvelope(report), 200)
  })
  .openapi(checkpointRoute, async (c) => {
    const checkpoint = settle(c, await checkpointOf(c.var.scope, c.req.valid('query').chain))
    return c.json(successEnvelope(checkpoint), 200)
  })
  .openapi(checkpointsRoute, async (c) => {
    const { chain, limit } = c.req.valid('query')
    return c.json(successEnvelope(settle(c, await checkpointsOf(c.var.scope, chain, limit))), 200)
  })
  .openapi(publicKeyRoute, async (c) => {
    return c.json(successEnvelope(settle(c, await auditPublicKey(c.var.scope))), 200)
  })
