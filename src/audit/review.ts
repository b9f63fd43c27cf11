/**
 * The audit review's operations: query, export, verify, the chain, checkpoints, the public key and
 * one entry with its checks. The review API's handlers (handlers.ts) and the console's audit pages
 * (console/audit-page.tsx) call the same ones on the request scope, so a page and its endpoint can
 * never disagree on who may read the log or on what a query means; the hourly job
 * (checkpoints-cron.ts) calls `recordCheckpoints` on a scope of its own.
 *
 * The log holds every team's entries, so reading it is the policy's `audit` action with
 * account-wide scope: decided as if about a certificate of some other team, which only an
 * `owner: "any"` grant reaches (403 with the reason otherwise). Each operation decides first.
 */
import type { Findings } from '../kernel/operation'
import { run, type Outcome } from '../kernel/operation'
import type { RequestScope } from '../kernel/scope'
import { UUID } from '../lib/ids'
import type { Authorizer } from '../policy/enforce'
import type { AuditLog } from './audit-log'
import type { AuditEntry, OutcomeClass } from './entry'
import type { ExportFormat } from './export'
import type { PageViews } from './filters'
import { positionOf, type Filters, type Found, type Page, type Query } from './query'
import type { TimeRange } from './store'
import { MAX_VERIFY_PAGE, type Problem, type VerifyReport } from './verify'
import type { ChainReport } from './verify-chain'

const DAY_MS = 86_400_000

/** What a review operation runs on: the authorizer and the log. */
export type ReviewDeps = Pick<RequestScope, 'who' | 'auditLog'>

const EVERY_TEAM = { ownerTeam: '(every team)' }

/** Refuses (403, decision on record) a caller who may not read the whole log. */
const requireAudit = (who: Authorizer, found: Findings) =>
  who.requireAllowed(found, 'audit', EVERY_TEAM)

/** Whether the caller may read the log: the console shows its links only then. */
export const mayAudit = (who: Authorizer) => who.decide('audit', EVERY_TEAM).effect === 'allow'

/** The policy's word alone: a page refuses a non-reviewer before it reads its form. */
export const admitReviewer = (deps: ReviewDeps) =>
  run({}, async (found) => requireAudit(deps.who, found))

/** The review API's query parameters, validated (audit/routes.ts), by their wire names. */
export interface QueryParams {
  from?: string | undefined
  to?: string | undefined
  team?: string | undefined
  member?: string | undefined
  action?: string | undefined
  decision?: 'allow' | 'deny' | 'none' | undefined
  outcome?: OutcomeClass | undefined
  certificate?: string | undefined
  request_id?: string | undefined
  policy_revision?: string | undefined // issue 20
  // Issue 22.
  certificate_name?: string | undefined
  certificate_name_prefix?: string | undefined
  changes_only?: 'true' | 'false' | undefined
  page_views?: PageViews | undefined
  limit: number
  cursor?: string | undefined
}

/** From `from` (default: the retention period back from `to`) to `to` (default: now). */
function rangeOf(
  params: { from?: string | undefined; to?: string | undefined },
  retentionDays: number,
  now: number,
): TimeRange {
  const to = params.to === undefined ? now : Date.parse(params.to)
  const from = params.from === undefined ? to - retentionDays * DAY_MS : Date.parse(params.from)
  return { from, to, endsNow: to >= now }
}

/** A validated query or export request as a store query: filters, range, limit, cursor. */
export function queryOf(params: QueryParams, retentionDays: number, now: number): Query {
  const { request_id: requestId, team, member, action, decision, outcome, certificate } = params
  const filters: Filters = { team, member, action, decision, outcome, certificate, requestId }
  if (params.policy_revision !== undefined) filters.policyRevision = params.policy_revision // issue 20
  // Issue 22: by the certificate's name.
  if (params.certificate_name !== undefined) filters.certificateName = params.certificate_name
  if (params.certificate_name_prefix !== undefined) {
    filters.certificateNamePrefix = params.certificate_name_prefix
  }
  // Issue 22 (review-audit): reads and page views, as asked (a default is the route's). A request
  // id names one entry: hiding page views does not hide it.
  if (params.changes_only === 'true') filters.changesOnly = true
  const views = params.page_views
  if (views === 'only' || (views === 'hide' && requestId === undefined)) filters.pageViews = views
  return {
    ...filters,
    range: rangeOf(params, retentionDays, now),
    limit: params.limit,
    cursor: positionOf(params.cursor),
  }
}

/** The chart counts at most this many entries, listed with at most this many list() calls. */
const CHART_MAX_ENTRIES = 10_000
const CHART_LIST_BUDGET = 20

/** The entries the activity chart counts: the query's, newest first, within the chart's bounds. */
async function chartEntries(log: AuditLog, query: Query) {
  const walk = log.entries({ ...query, cursor: undefined }, { lists: CHART_LIST_BUDGET })
  const found: AuditEntry[] = []
  for (;;) {
    const next = await walk.next()
    if (next.done) return { entries: found, complete: next.value === undefined }
    found.push(next.value.entry)
    if (found.length >= CHART_MAX_ENTRIES) {
      await walk.return(undefined)
      return { entries: found, complete: false }
    }
  }
}

export interface Listing {
  query: Query
  page: Page
  /** On a first page (no cursor) only: what the activity chart counts. */
  chart?: { entries: AuditEntry[]; complete: boolean } | undefined
}

/** One page of the log; with `chart`, on a first page, the entries the chart counts too. */
export function queryLog(
  deps: ReviewDeps,
  params: QueryParams,
  options: { now?: number; chart?: boolean } = {},
): Promise<Outcome<Listing>> {
  return run({}, async (found) => {
    requireAudit(deps.who, found)
    const query = queryOf(params, deps.auditLog.retentionDays, options.now ?? Date.now())
    const [page, chart] = await Promise.all([
      deps.auditLog.query(query),
      options.chart && query.cursor === undefined ? chartEntries(deps.auditLog, query) : undefined,
    ])
    return { query, page, chart }
  })
}

/** A signed export; `covered` names the cursor it was asked to start from, for its marker. */
export function exportLog(
  deps: ReviewDeps,
  params: QueryParams & { format: ExportFormat },
  covered: { cursor?: string } = {},
): Promise<Outcome<ReadableStream<Uint8Array>>> {
  return run({}, async (found) => {
    requireAudit(deps.who, found)
    const query = queryOf(params, deps.auditLog.retentionDays, Date.now())
    return deps.auditLog.export(query, params.format, covered)
  })
}

/** One page of signature checks over a range, every chain walked over its span. */
export function verifyLog(
  deps: ReviewDeps,
  params: { from?: string | undefined; to?: string | undefined; limit: number; cursor?: string },
): Promise<Outcome<VerifyReport>> {
  return run({}, async (found) => {
    requireAudit(deps.who, found)
    return deps.auditLog.verify({
      range: rangeOf(params, deps.auditLog.retentionDays, Date.now()),
      limit: params.limit,
      cursor: positionOf(params.cursor),
      chains: 'all',
    })
  })
}

export function chainOf(
  deps: ReviewDeps,
  params: { chain: string; from_seq: number; limit: number },
): Promise<Outcome<ChainReport>> {
  return run({}, async (found) => {
    requireAudit(deps.who, found)
    return deps.auditLog.chain(params.chain, params.from_seq, params.limit)
  })
}

/** The chain's head, signed now (null while the chain has no entry). */
export function checkpointOf(deps: ReviewDeps, chain: string) {
  return run({}, async (found) => {
    requireAudit(deps.who, found)
    return deps.auditLog.checkpoint(chain, new Date())
  })
}

export function checkpointsOf(deps: ReviewDeps, chain: string, limit: number) {
  return run({}, async (found) => {
    requireAudit(deps.who, found)
    return deps.auditLog.checkpoints(chain, limit)
  })
}

export function auditPublicKey(deps: ReviewDeps) {
  return run({}, async (found) => {
    requireAudit(deps.who, found)
    // Built from `x` alone: the private half (`d`) never enters the answer.
    return deps.auditLog.publicKey()
  })
}

/** One entry as the console shows it, with what its checks found. */
export interface EntryReport {
  found: Found
  /** Its own signature problems (none: as the gateway wrote it). */
  problems: Problem[]
  /** A change whose outcome was never recorded. */
  pending: boolean
  /** Its place in its chain against the coordinator's link; undefined when it is unchained. */
  chained: ChainReport | undefined
}

/** The entry of a request (null if there is none within the retention period), checked. */
export function entryOf(deps: ReviewDeps, requestId: string): Promise<Outcome<EntryReport | null>> {
  return run({}, async (found) => {
    requireAudit(deps.who, found)
    const log = deps.auditLog
    const now = Date.now()
    const range: TimeRange = { from: now - log.retentionDays * DAY_MS, to: now, endsNow: true }
    const walk = UUID.test(requestId) ? log.entries({ requestId, range }, { lists: 5 }) : undefined
    const first = walk ? await walk.next() : undefined
    if (walk) await walk.return(undefined)
    if (!first || first.done) return null
    const { entry, key } = first.value
    const time = Date.parse(entry.time)
    // Its own chain is walked because the entry names it; the problems kept are its own.
    const report = await log.verify({
      range: { from: time, to: time, endsNow: false },
      limit: MAX_VERIFY_PAGE,
      chains: 'named',
    })
    const chained =
      entry.chain !== undefined && entry.seq !== undefined
        ? await log.chain(entry.chain, entry.seq, 1)
        : undefined
    return {
      found: first.value,
      problems: report.problems.filter((p) => p.key === key),
      pending: report.pending.includes(key),
      chained,
    }
  })
}

/**
 * The hourly checkpoints: each chain's head, signed and kept in the log for auditors to collect
 * (`GET /gateway/v1/audit/checkpoints`) and keep outside Cloudflare. A chain with no entry yet has
 * no checkpoint; a chain whose coordinator cannot be reached is skipped this time (logged), the
 * others are still written. Runs on a job's scope (checkpoints-cron.ts): no policy decision, the
 * gateway does this itself.
 */
export async function recordCheckpoints(deps: Pick<ReviewDeps, 'auditLog'>, now: Date) {
  let written = 0
  for (const chain of deps.auditLog.chainNames) {
    try {
      const checkpoint = await deps.auditLog.checkpoint(chain, now)
      if (checkpoint === null) continue
      await deps.auditLog.keepCheckpoint(checkpoint)
      written++
    } catch (error) {
      console.error(`checkpoint of chain ${chain} not written this time:`, String(error))
    }
  }
  return written
}
