/**
 * Where the pipe meets the audit log: the two moments an entry is written.
 *
 *   pendingRecorder(...)  the port operations call before a change (`AuditPort.beforeChange`): a
 *                         mutation's entry, outcome "pending", written and awaited before the
 *                         mutation goes anywhere; if it cannot be written the mutation is refused
 *                         (503 AUDIT_UNAVAILABLE) and nothing is forwarded. A request is recorded
 *                         once, however many changes it makes (an adoption, then a delete).
 *   auditTrail()          after every request, whatever its answer: the final entry, under the
 *                         same key as a pending one. It is written after the response
 *                         (`waitUntil`): the mutation is already on record, and a read loses
 *                         nothing by being recorded a moment late.
 *
 * Both build the entry from `recordOf` (record.ts) over what each stage owns; never from the
 * request itself. Each entry is numbered in its chain by the coordinator (coordinator/sequence.ts)
 * before it is written: a mutation's pending entry takes its number before anything is forwarded
 * (no number, no mutation: 503), and its final entry keeps it. A read's entry takes its number
 * after the response; if the coordinator cannot be reached then, the entry is written without one
 * rather than lost (the review API shows it unnumbered).
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env'
import { configFor, type Config } from '../config'
import { GatewayError } from '../lib/errors'
import { uuidv7, uuidv7Time } from '../lib/uuidv7'
import { coordinatedSequencer, type AuditSequencer } from '../coordinator/client'
import { auditChainOf } from '../coordinator/shard'
import { entryFromFacts, suppressedEntry, type Sequence } from './entry'
import { anonymousBudget } from './flood-guard'
import {
  recordOf,
  type AuditPort,
  type Findings,
  type RecordParts,
  type RequestFacts,
} from './record'
import { rewriteEntry, writeEntry, type StoreSettings } from './store'

const entryTime = (facts: RequestFacts) => uuidv7Time(facts.requestId) ?? facts.startedAt

export interface PendingRecorder extends AuditPort {
  /**
   * The pending entry's place in its chain once it is on record, so the final write goes to the
   * keys just written, under the same number.
   */
  readonly written: Sequence | undefined
}

/** The audit port of one request; `parts` gives what the request is known to be so far. */
export function pendingRecorder(
  kv: KVNamespace,
  settings: StoreSettings,
  sequencer: AuditSequencer,
  parts: () => RecordParts,
): PendingRecorder {
  let written: Sequence | undefined
  return {
    get written() {
      return written
    },
    async beforeChange(found: Findings) {
      // Once on record, the request is on record: a second change in the same request needs no
      // second pending write to the same keys (KV: one write per key per second).
      if (written) return
      const facts = recordOf({ ...parts(), findings: found, answer: undefined })
      try {
        const chain = auditChainOf(facts.accountId)
        const sequence = { chain, seq: await sequencer(chain) }
        const entry = entryFromFacts(facts, facts.requestId, entryTime(facts), Date.now(), sequence)
        await writeEntry(kv, entry, settings)
        written = sequence
      } catch (error) {
        throw GatewayError.of('AUDIT_UNAVAILABLE', { cause: error })
      }
    },
  }
}

/** A number for an entry written after the response; none if the coordinator cannot give one. */
async function numbered(sequencer: AuditSequencer, chain: string): Promise<Sequence | undefined> {
  try {
    return { chain, seq: await sequencer(chain) }
  } catch (error) {
    console.error(`audit entry of chain ${chain} written without a number:`, String(error))
    return undefined
  }
}

/** What the stages of this request have established; each part is read where its owner put it. */
export function partsOf(c: Context<AppEnv>): RecordParts {
  return {
    requestId: c.var.requestId,
    startedAt: c.var.startedAt,
    principal: c.get('principal'),
    action: c.get('action'),
    findings: c.get('findings'),
    upstream: c.get('scope')?.upstreamStats,
  }
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
    const sequencer = coordinatedSequencer(c.env.COORDINATOR)
    const writes: Promise<void>[] = []

    const summary = anonymousBudget.takeSummary()
    if (summary) {
      const id = uuidv7()
      const write = async () => {
        const sequence = await numbered(sequencer, auditChainOf(undefined))
        await writeEntry(kv, suppressedEntry(id, uuidv7Time(id)!, summary, sequence), settings)
      }
      writes.push(
        write().catch((error: unknown) => {
          anonymousBudget.restore(summary)
          report(facts)(error)
        }),
      )
    }
    if (facts.principal !== undefined || anonymousBudget.admit(facts.outcome?.codes ?? [])) {
      const pending = c.get('scope')?.audit.written
      const write = async () => {
        const sequence = pending ?? (await numbered(sequencer, auditChainOf(facts.accountId)))
        const entry = entryFromFacts(facts, facts.requestId, entryTime(facts), Date.now(), sequence)
        await (pending ? rewriteEntry : writeEntry)(kv, entry, settings)
      }
      writes.push(write().catch(report(facts)))
    }
    if (writes.length > 0)
      later(
        c,
        Promise.all(writes).then(() => undefined),
      )
  })
