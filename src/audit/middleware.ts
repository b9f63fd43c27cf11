/**
 * Where the pipe meets the audit log: the two moments an entry is written.
 *
 *   recordBeforeForward(c)  a mutation's entry, outcome "pending", written and awaited before the
 *                           mutation goes anywhere; if it cannot be written the mutation is refused
 *                           (503 AUDIT_UNAVAILABLE) and nothing is forwarded. Call it for every
 *                           change: upload, delete, approvals, assign, adoption
 *                           (certificates/operations.ts, certificates/facts.ts, gateway/handlers.ts);
 *                           a request is recorded once, however many changes it makes.
 *   auditTrail()            after every request, whatever its answer: the final entry, under the
 *                           same key as a pending one. It is written after the response
 *                           (`waitUntil`): the mutation is already on record, and a read loses
 *                           nothing by being recorded a moment late.
 *
 * It records facts (lib/request-facts.ts), never the request itself.
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { configFor, type Config } from '../config'
import type { AppEnv } from '../lib/app-env'
import { GatewayError } from '../lib/errors'
import type { RequestFacts } from '../lib/request-facts'
import { uuidv7, uuidv7Time } from '../lib/uuidv7'
import { entryFromFacts, suppressedEntry } from './entry'
import { anonymousBudget } from './flood-guard'
import { rewriteEntry, writeEntry, type StoreSettings } from './store'

/** Requests whose pending entry is on record, so their final write goes to keys just written. */
const pending = new WeakSet<RequestFacts>()

const entryTime = (facts: RequestFacts) => uuidv7Time(facts.requestId) ?? facts.startedAt
const settingsOf = (config: Config): StoreSettings => config.audit

export async function recordBeforeForward(c: Context<AppEnv>): Promise<void> {
  const facts = c.var.facts
  // Once on record, the request is on record: a second change in the same request (an adoption,
  // then a delete) needs no second pending write to the same keys (KV: one write per key per second).
  if (pending.has(facts)) return
  const entry = entryFromFacts(
    { ...facts, outcome: undefined },
    facts.requestId,
    entryTime(facts),
    Date.now(),
  )
  try {
    await writeEntry(c.env.AUDIT, entry, settingsOf(c.var.config))
  } catch (error) {
    throw GatewayError.of('AUDIT_UNAVAILABLE', { cause: error })
  }
  pending.add(facts)
}

function later(c: Context<AppEnv>, work: Promise<void>): void {
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
    const facts = c.var.facts
    facts.outcome ??= { status: c.res.status, codes: [] }
    let config: Config
    try {
      config = c.get('config') ?? configFor(c.env)
    } catch {
      return // misconfigured: it serves nothing and has already logged why; nothing can be signed
    }
    const settings = settingsOf(config)
    const kv = c.env.AUDIT
    const writes: Promise<void>[] = []

    const summary = anonymousBudget.takeSummary()
    if (summary) {
      const id = uuidv7()
      writes.push(
        writeEntry(kv, suppressedEntry(id, uuidv7Time(id)!, summary), settings).catch((error) => {
          anonymousBudget.restore(summary)
          report(facts)(error)
        }),
      )
    }
    if (facts.principal !== undefined || anonymousBudget.admit(facts.outcome.codes)) {
      const entry = entryFromFacts(facts, facts.requestId, entryTime(facts), Date.now())
      const write = pending.has(facts) ? rewriteEntry : writeEntry
      writes.push(write(kv, entry, settings).catch(report(facts)))
    }
    if (writes.length > 0)
      later(
        c,
        Promise.all(writes).then(() => undefined),
      )
  })
