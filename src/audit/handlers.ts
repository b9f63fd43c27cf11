/**
 * The audit review API's handlers: thin. Each asks the policy whether the caller may read the log
 * (action `audit`), turns the validated query into a range and filters, and hands over to query.ts,
 * export.ts or verify.ts (which walks the policy's accounts' chains and `gateway`'s too).
 */
import type { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { exportStream } from './export'
import { run } from './record'
import { encodeCursor, positionOf, runQuery, type Filters, type Query } from './query'
import {
  auditQuery,
  chainRoute,
  checkpointRoute,
  checkpointsRoute,
  exportRoute,
  publicKeyRoute,
  queryRoute,
  verifyRoute,
} from './routes'
import { keptCheckpointSchema, signCheckpoint } from './checkpoint'
import { publicKeyOf } from './ed25519'
import { listCheckpoints, type TimeRange } from './store'
import { verifyPage } from './verify'
import { verifyChain } from './verify-chain'
import { coordinatedChains } from '../coordinator/client'
import { accountsOf } from '../policy/document'

const DAY_MS = 86_400_000

/**
 * The log holds every team's entries, so reading it is the policy's `audit` action with
 * account-wide scope: decided as if about a certificate of some other team, which only an
 * `owner: "any"` grant reaches (403 with the reason otherwise).
 */
const EVERY_TEAM = { ownerTeam: '(every team)' }

async function admit(c: Context<AppEnv>) {
  const { who } = c.var.scope
  settle(c, await run({}, async (found) => who.requireAllowed(found, 'audit', EVERY_TEAM)))
}

function rangeOf(c: Context<AppEnv>, query: { from?: string; to?: string }): TimeRange {
  const now = Date.now()
  const to = query.to === undefined ? now : Date.parse(query.to)
  const from =
    query.from === undefined
      ? to - c.var.config.audit.retentionDays * DAY_MS
      : Date.parse(query.from)
  return { from, to, endsNow: to >= now }
}

/** A validated query or export request as a store query: filters, range, limit, cursor. */
function queryOf(c: Context<AppEnv>, params: z.output<typeof auditQuery>): Query {
  const { request_id: requestId, team, member, action, decision, outcome, certificate } = params
  const filters: Filters = { team, member, action, decision, outcome, certificate, requestId }
  return {
    ...filters,
    range: rangeOf(c, params),
    limit: params.limit,
    cursor: positionOf(params.cursor),
  }
}

export const auditRouter = createRouter<AppEnv>()
  .openapi(queryRoute, async (c) => {
    await admit(c)
    const page = await runQuery(c.env.AUDIT, queryOf(c, c.req.valid('query')))
    const cursor = page.cursor ? encodeCursor(page.cursor) : null
    return c.json(
      successEnvelope(page.entries, { resultInfo: { count: page.entries.length, cursor } }),
      200,
    )
  })
  .openapi(exportRoute, async (c) => {
    await admit(c)
    const query = c.req.valid('query')
    const stream = exportStream(
      c.env.AUDIT,
      queryOf(c, query),
      query.format,
      c.var.config.audit.attestKey,
      {
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      },
    )
    return c.body(stream, 200, {
      'content-type':
        query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="audit.${query.format}"`,
    })
  })
  .openapi(verifyRoute, async (c) => {
    await admit(c)
    const query = c.req.valid('query')
    const { audit } = c.var.config
    const report = await verifyPage(c.env.AUDIT, {
      signingKey: audit.signingKey,
      range: rangeOf(c, query),
      limit: query.limit,
      cursor: positionOf(query.cursor),
      chains: {
        names: [...accountsOf(c.var.config.policy), 'gateway'],
        links: coordinatedChains(c.env.COORDINATOR, audit.retentionDays),
      },
    })
    const cursor = report.cursor ? encodeCursor(report.cursor) : null
    return c.json(successEnvelope({ ...report, cursor }), 200)
  })
  .openapi(chainRoute, async (c) => {
    await admit(c)
    const { chain, from_seq: fromSeq, limit } = c.req.valid('query')
    const { audit } = c.var.config
    const chains = coordinatedChains(c.env.COORDINATOR, audit.retentionDays)
    const report = await verifyChain(c.env.AUDIT, chains, audit.signingKey, chain, fromSeq, limit)
    return c.json(successEnvelope(report), 200)
  })
  .openapi(checkpointRoute, async (c) => {
    await admit(c)
    const { chain } = c.req.valid('query')
    const { audit } = c.var.config
    const { head } = await coordinatedChains(c.env.COORDINATOR, audit.retentionDays).ends(chain)
    const checkpoint =
      head &&
      (await signCheckpoint(audit.attestKey, { chain, seq: head.seq, link: head.link }, new Date()))
    return c.json(successEnvelope(checkpoint), 200)
  })
  .openapi(checkpointsRoute, async (c) => {
    await admit(c)
    const { chain, limit } = c.req.valid('query')
    const stored = await listCheckpoints(c.env.AUDIT, chain, limit)
    // What does not read as a checkpoint is left out here; its signature is for verify to judge.
    const checkpoints = stored.flatMap((value) => {
      const parsed = keptCheckpointSchema.safeParse(value)
      return parsed.success ? [parsed.data] : []
    })
    return c.json(successEnvelope(checkpoints), 200)
  })
  .openapi(publicKeyRoute, async (c) => {
    await admit(c)
    // Built from `x` alone: the private half (`d`) never enters the answer.
    return c.json(successEnvelope(await publicKeyOf(c.var.config.audit.attestKey)), 200)
  })
