/**
 * Where the pipe meets the audit log: the two moments an entry is written.
 *
 *   pendingRecorder(...)  (recorder.ts, built with the request scope) the port operations call
 *                         before a change (`AuditPort.beforeChange`): a mutation's entry,
 *                         outcome "pending", written and awaited before the mutation goes
 *                         anywhere; if it cannot be written the mutation is refused
 *                         (503 AUDIT_UNAVAILABLE) and nothing is forwarded. A request is recorded
 *                         once, however many changes it makes (an adoption, then a delete).
 *   auditTrail()          after every request, whatever its answer: the final entry, under the
 *                         same key as a pending one. It is written after the response
 *                         (`waitUntil`): the mutation is already on record, and a read loses
 *                         nothing by being recorded a moment late.
 *
 * Both build the entry from `recordOf` (record.ts) over what each stage owns; never from the
 * request itself. Each entry is chained by the coordinator (audit/chain.ts, coordinator/chain.ts)
 * before it is written: a mutation's pending entry takes its place before anything is forwarded
 * (no place, no mutation: 503), and its final entry keeps it. A read's entry takes its place after
 * the response; if the coordinator cannot be reached then, the entry is written unchained rather
 * than lost (it has no `seq`, so the chain cannot vouch for it, and nothing would see it deleted;
 * the error log says it happened).
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env'
import { configFor, type Config } from '../config'
import { uuidv7, uuidv7Time } from '../lib/uuidv7'
import { coordinatedChains } from '../coordinator/client'
import { entryFromFacts, memberSuppressedEntry, suppressedEntry } from './entry'
import { anonymousBudget } from './flood-guard'
import { recordOf, type RecordParts, type RequestFacts } from './record'
import { chainedIfPossible, entryTime } from './recorder'
import { rewriteEntry, writeEntry, type StoreSettings } from './store'

/** What the stages of this request have established; each part is read where its owner put it. */
export function partsOf(c: Context<AppEnv>): RecordParts {
  return {
    requestId: c.var.requestId,
    startedAt: c.var.startedAt,
    principal: c.get('principal'),
    action: c.get('action'),
    findings: c.get('findings'),
    upstream: c.get('scope')?.upstreamStats,
    // Issue 20: the revision the request's configuration is (control/served-policy.ts).
    policyRevision: c.get('config')?.policyRevision,
    // Issue 22 (review-audit): a GET only reads (CloudTrail's read-only events); one the console
    // served (its visit is set) is a page view, hidden from the log's readers unless asked for.
    ...readOrView(c),
  }
}

function readOrView(c: Context<AppEnv>): { readOnly?: true; pageView?: true } {
  const method = c.req.method
  if (method !== 'GET' && method !== 'HEAD') return {}
  return c.get('console') === undefined ? { readOnly: true } : { readOnly: true, pageView: true }
}

function later(c: Context<AppEnv>, work: Promise<unknown>): void {
  let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined
  try {
    ctx = c.executionCtx
  } catch {
    ctx = undefined // app.request() in unit tests has no execution context
  }
  if (ctx) ctx.waitUntil(work)
}

function report(facts: RequestFacts) {
  return (error: unknown) =>
    console.error(`audit entry for request ${facts.requestId} not written:`, String(error))
}

export const auditTrail = () =>
  createMiddleware<AppEnv>(async function auditTrail(c, next) {
    await next()
    const facts = recordOf({
      ...partsOf(c),
      answer: { status: c.res.status, failure: c.get('failure') },
    })
    let config: Config
    try {
      config = c.get('config') ?? configFor(c.env)
    } catch {
      return // misconfigured: it serves nothing and has already logged why; nothing can be signed
    }
    const settings: StoreSettings = config.audit
    const kv = c.env.AUDIT
    const chains = coordinatedChains(c.env.COORDINATOR, settings.retentionDays)
    const writes: Promise<void>[] = []

    const summary = anonymousBudget.takeSummary()
    if (summary) {
      const id = uuidv7()
      const write = async () => {
        const entry = await chainedIfPossible(chains, suppressedEntry(id, uuidv7Time(id)!, summary))
        await writeEntry(kv, entry, settings)
      }
      writes.push(
        write().catch((error: unknown) => {
          anonymousBudget.restore(summary)
          report(facts)(error)
        }),
      )
    }
    // A member's refusals over their rate, counted by the coordinator: one entry for all of them.
    const memberFlood = c.get('memberFlood')
    if (memberFlood !== undefined && facts.principal !== undefined) {
      const id = uuidv7()
      const entry = memberSuppressedEntry(id, uuidv7Time(id)!, facts.principal, memberFlood)
      const write = async () => writeEntry(kv, await chainedIfPossible(chains, entry), settings)
      writes.push(
        write().catch((error: unknown) => {
          console.error(
            `summary of ${memberFlood.count} refusals of ${facts.principal?.memberId} not written:`,
            String(error),
          )
        }),
      )
    }
    // Authenticated requests are recorded, except a member's refusals counted in such a summary.
    const recorded =
      facts.principal !== undefined
        ? c.get('unrecorded') !== true
        : anonymousBudget.admit(facts.outcome?.codes ?? [])
    if (recorded) {
      const audit = c.get('scope')?.audit
      const pending = audit?.written
      const write = async () => {
        const entry = entryFromFacts(facts, facts.requestId, entryTime(facts), Date.now())
        if (pending) await rewriteEntry(kv, { ...audit!.committed(entry), ...pending }, settings)
        else await writeEntry(kv, await chainedIfPossible(chains, entry), settings)
      }
      writes.push(write().catch(report(facts)))
    }
    if (writes.length > 0) later(c, Promise.all(writes))
  })
