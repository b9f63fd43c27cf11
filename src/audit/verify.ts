/**
 * Verifies the stored audit log over a time range, one page of events at a time: every event
 * key's seal and signature over key + metadata (signing.ts), and the hash of its value (one get()
 * each: verification reads what queries never need to). What filters read is that same signed
 * metadata (there is no index to disagree with it, store.ts); a deleted entry is the chain's to
 * find (verify-chain.ts), except one written unchained (no `seq`: middleware.ts), whose deletion
 * nothing can see. Findings are reported, never repaired. Entries still `pending` are
 * listed separately: a mutation whose outcome never arrived is a fact to review, not tampering.
 */
import { z } from '@hono/zod-openapi'
import { judge, sha256 } from './signing'
import type { AuditEntry } from './entry'
import { eventKey, readEvent, scan, type Position, type TimeRange } from './store'

/** What verification can find. The API's description of a report is built from these. */
export const problemKindSchema = z.enum(['unsigned', 'forged', 'altered'])
export type ProblemKind = z.output<typeof problemKindSchema>

export const problemSchema = z.strictObject({
  kind: problemKindSchema,
  key: z.string(),
  detail: z.string(),
})
export type Problem = z.output<typeof problemSchema>

/** One page's findings, as the API answers them (its cursor is encoded there; see routes.ts). */
export const verifyReportSchema = z.strictObject({
  checked: z.number().int(),
  problems: z.array(problemSchema),
  pending: z.array(z.string()).openapi({ description: 'Keys of entries still pending' }),
})

export type VerifyReport = z.output<typeof verifyReportSchema> & { cursor?: Position }

export const MAX_VERIFY_PAGE = 200

export interface VerifyOptions {
  signingKey: string
  range: TimeRange
  limit: number
  cursor?: Position
  /** KV list() calls one page may make (a Worker invocation allows 1000 KV operations). */
  listBudget?: number
}

type Budget = { lists: number }

/** Verifies one page of events. */
export async function verifyPage(kv: KVNamespace, options: VerifyOptions): Promise<VerifyReport> {
  const budget: Budget = { lists: options.listBudget ?? 400 }
  const { tails, cursor } = await listPage(kv, options, budget)
  const events = await checkEvents(kv, options.signingKey, tails)
  return {
    checked: tails.length,
    problems: events.problems,
    pending: events.pending,
    ...(cursor ? { cursor } : {}),
  }
}

/** The event keys of this page, newest first, and where the next page starts (if any). */
async function listPage(kv: KVNamespace, options: VerifyOptions, budget: Budget) {
  const tails: string[] = []
  const walk = scan(kv, options.range, options.cursor, budget)
  for (;;) {
    const next = await walk.next()
    if (next.done) return { tails, cursor: next.value }
    tails.push(next.value.tail)
    if (tails.length >= options.limit) return { tails, cursor: next.value.resume }
  }
}

interface CheckedEvents {
  problems: Problem[]
  pending: string[]
}

/** Each event: seal and signature over key and metadata, then its value against its signed hash. */
async function checkEvents(
  kv: KVNamespace,
  signingKey: string,
  tails: string[],
): Promise<CheckedEvents> {
  const checked: CheckedEvents = { problems: [], pending: [] }
  for (const tail of tails) {
    const key = eventKey(tail)
    const stored = await readEvent(kv, tail)
    if (stored === undefined) continue // expired between list() and get()
    const state = await judge(signingKey, key, stored.metadata)
    if (state !== 'valid') {
      checked.problems.push({ kind: state, key, detail: `signature check: ${state}` })
      continue
    }
    const { sig: _sig, seal: _seal, ...unsigned } = stored.metadata!
    if (unsigned.vh !== (await sha256(stored.value))) {
      checked.problems.push({
        kind: 'altered',
        key,
        detail: 'the value does not match its signed hash',
      })
      continue
    }
    const entry = JSON.parse(stored.value) as AuditEntry
    if (entry.outcome.class === 'pending') checked.pending.push(key)
  }
  return checked
}
