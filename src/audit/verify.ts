/**
 * Verifies the stored audit log over a time range, one page of events at a time, and never says
 * "clean" unless both the entries and their chains check out over that page:
 *   - every event key listed: its seal and signature over key + metadata (signing.ts) and the hash
 *     of its value (one get() each: verification reads what queries never need to);
 *   - every chain (the policy's accounts, `gateway`, and any other chain an entry names): the
 *     links the coordinator keeps for the entries whose keys fall in the span of the log this page
 *     covered (coordinator/chain.ts). A link whose entry is not in the log is a deleted entry; a
 *     listed entry must be the one its link was made from (verify-chain.ts, `checkLinked`). If a
 *     chain cannot be read, the page says so (`unverified`): deletions there cannot be ruled out.
 * What filters read is that same signed metadata (there is no index to disagree with it,
 * store.ts). An entry written unchained (no `seq`: middleware.ts) has no link, and its deletion
 * nothing can see. Findings are reported, never repaired. Entries still `pending` are listed
 * separately: a mutation whose outcome never arrived is a fact to review, not tampering.
 */
import { z } from '@hono/zod-openapi'
import type { AuditChains } from '../coordinator/client'
import type { AuditEntry } from './entry'
import { judge, sha256 } from './signing'
import { eventKey, readEvent, rev, scan, type Position, type TimeRange } from './store'
import { checkLinked } from './verify-chain'

/** What verification can find. The API's description of a report is built from these. */
export const problemKindSchema = z.enum([
  'unsigned',
  'forged',
  'altered',
  'deleted',
  'moved',
  'relinked',
  'unverified',
])
export type ProblemKind = z.output<typeof problemKindSchema>

const problemSchema = z.strictObject({
  kind: problemKindSchema,
  key: z.string().optional().openapi({ description: 'The KV key of the entry, if one is known' }),
  chain: z.string().optional(),
  seq: z.number().int().optional(),
  detail: z.string(),
})
export type Problem = z.output<typeof problemSchema>

/** One page's findings, as the API answers them (its cursor is encoded there; see routes.ts). */
export const verifyReportSchema = z.strictObject({
  checked: z.number().int().openapi({ description: 'Entries checked' }),
  links_checked: z.number().int().openapi({
    description: "Chain links compared with the log over this page's span (deleted ones included)",
  }),
  problems: z.array(problemSchema),
  pending: z.array(z.string()).openapi({ description: 'Keys of entries still pending' }),
})

export type VerifyReport = z.output<typeof verifyReportSchema> & { cursor?: Position }

export const MAX_VERIFY_PAGE = 200
/** Links one page compares per chain; a span holding more says so instead of passing them. */
const MAX_SPAN_LINKS = 1000
/** Re-reads of links the listing missed (KV's list() can lag its writes): the rest are reported. */
const CONFIRM_BUDGET = 300
/** A link this young whose entry is absent may still be being written (waitUntil, retries). */
const IN_FLIGHT_MS = 60_000

export interface VerifyOptions {
  signingKey: string
  range: TimeRange
  limit: number
  cursor?: Position
  /** KV list() calls one page may make (a Worker invocation allows 1000 KV operations). */
  listBudget?: number
  /** The chains to walk: the policy's accounts and `gateway`, and the coordinator holding them. */
  chains: { names: readonly string[]; links: AuditChains }
  now?: number
}

type Budget = { lists: number }
type Stored = { value: string; metadata: Record<string, unknown> | null }

const EVENTS_BASE = eventKey('')
/** Sorts after every tail of a given <rev> (`:` is 0x3A, `;` 0x3B). */
const AFTER_REV = ';'

/** Verifies one page of events, and the chains over the span of the log it covered. */
export async function verifyPage(kv: KVNamespace, options: VerifyOptions): Promise<VerifyReport> {
  const budget: Budget = { lists: options.listBudget ?? 400 }
  const { tails, cursor } = await listPage(kv, options, budget)
  const events = await checkEvents(kv, options.signingKey, tails)
  const chains = await checkChains(kv, options, spanOf(options, tails, cursor), events)
  return {
    checked: events.checked,
    links_checked: chains.links,
    problems: [...events.problems, ...chains.problems],
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

/**
 * The keys this page covered, as (after, upTo] in KV's byte order: from where the previous page
 * stopped (or the range's end) to the last key listed, or to the range's start once the range is
 * exhausted. Keys sort newest first (store.ts), so this is a stretch of time, and every key in it
 * that the coordinator linked must have been listed.
 */
function spanOf(options: VerifyOptions, tails: string[], cursor: Position | undefined) {
  const newest = rev(options.range.to)
  const oldest = rev(options.range.from) + AFTER_REV
  const start = options.cursor?.after ?? ''
  const after = start > newest ? start : newest
  const stop = cursor === undefined ? oldest : (tails.at(-1) ?? cursor.after)
  const upTo = stop < oldest ? stop : oldest
  return { after: EVENTS_BASE + after, upTo: EVENTS_BASE + upTo }
}

interface CheckedEvents {
  checked: number
  problems: Problem[]
  pending: string[]
  /** What was read, by KV key, for the chain walk; and the keys that already failed a check. */
  stored: Map<string, Stored>
  failed: Set<string>
}

/** Each event: seal and signature over key and metadata, then its value against its signed hash. */
async function checkEvents(
  kv: KVNamespace,
  signingKey: string,
  tails: string[],
): Promise<CheckedEvents> {
  const checked: CheckedEvents = {
    checked: 0,
    problems: [],
    pending: [],
    stored: new Map(),
    failed: new Set(),
  }
  for (const tail of tails) {
    const stored = await readEvent(kv, tail)
    if (stored === undefined) continue // expired between list() and get()
    await checkEvent(checked, signingKey, eventKey(tail), stored)
  }
  return checked
}

async function checkEvent(into: CheckedEvents, signingKey: string, key: string, stored: Stored) {
  into.checked++
  into.stored.set(key, stored)
  const problem = (kind: ProblemKind, detail: string) => {
    into.problems.push({ kind, key, detail })
    into.failed.add(key)
  }
  const state = await judge(signingKey, key, stored.metadata)
  if (state !== 'valid') return problem(state, `signature check: ${state}`)
  const { sig: _sig, seal: _seal, ...unsigned } = stored.metadata!
  if (unsigned.vh !== (await sha256(stored.value))) {
    return problem('altered', 'the value does not match its signed hash')
  }
  const entry = JSON.parse(stored.value) as AuditEntry
  if (entry.outcome.class === 'pending') into.pending.push(key)
}

/**
 * Every chain's links over the span: each must have its entry in the log, and be what that entry
 * hashes to; each chained entry listed must have its link. Reported by number.
 */
async function checkChains(
  kv: KVNamespace,
  options: VerifyOptions,
  span: { after: string; upTo: string },
  events: CheckedEvents,
) {
  const result = { links: 0, problems: [] as Problem[] }
  if (span.after >= span.upTo) return result
  const now = options.now ?? Date.now()
  const confirm = { left: CONFIRM_BUDGET }
  // Chained entries listed, by chain: each must be claimed by a link of its chain.
  const unclaimed = new Map<string, Map<string, number>>()
  for (const [key, stored] of events.stored) {
    if (events.failed.has(key)) continue
    const entry = JSON.parse(stored.value) as AuditEntry
    if (entry.chain === undefined || entry.seq === undefined) continue
    const keys = unclaimed.get(entry.chain) ?? new Map<string, number>()
    keys.set(key, entry.seq)
    unclaimed.set(entry.chain, keys)
  }
  const names = new Set([...options.chains.names, ...unclaimed.keys()])
  for (const chain of names) {
    let inSpan
    try {
      inSpan = await options.chains.links.inSpan(chain, span.after, span.upTo, MAX_SPAN_LINKS)
    } catch (error) {
      result.problems.push({
        kind: 'unverified',
        chain,
        detail: `the chain ${chain} could not be read (${String(error)}): deleted entries in this part of the range cannot be ruled out`,
      })
      continue
    }
    const ofChain = unclaimed.get(chain)
    const bySeq = new Map(inSpan.links.map((l) => [l.seq, l.link]))
    for (const link of inSpan.links) {
      result.links++
      ofChain?.delete(link.kv_key)
      if (events.failed.has(link.kv_key)) continue // already reported by its own check
      let stored = events.stored.get(link.kv_key)
      let reread = false
      if (stored === undefined && confirm.left > 0) {
        // Not listed: KV's list() may lag a write it already serves to get().
        confirm.left--
        reread = true
        stored = await readEvent(kv, link.kv_key.slice(EVENTS_BASE.length))
        if (stored !== undefined) await checkEvent(events, options.signingKey, link.kv_key, stored)
        if (stored !== undefined && events.failed.has(link.kv_key)) continue
      }
      const problem = await checkLinked(
        stored,
        options.signingKey,
        chain,
        { seq: link.seq, key: link.kv_key, link: link.link },
        bySeq.get(link.seq - 1),
      )
      if (problem === undefined) continue
      if (problem.kind === 'deleted') {
        const age = now - link.at_ms
        problem.detail +=
          (reread
            ? ''
            : ' (missing from the listing; not read again: this page ran out of re-reads)') +
          (age < IN_FLIGHT_MS
            ? ` (numbered ${Math.round(age / 1000)} s ago: it may still be being written; verify again)`
            : '')
      }
      result.problems.push({ ...problem, chain })
    }
    if (inSpan.total > inSpan.links.length) {
      result.problems.push({
        kind: 'unverified',
        chain,
        detail: `${inSpan.total - inSpan.links.length} more links of ${chain} in this part of the range than one page compares: walk them with /gateway/v1/audit/verify/chain`,
      })
      continue // the cut may have left out the links of listed entries
    }
    const oldestKept = inSpan.first?.seq ?? Number.POSITIVE_INFINITY
    for (const [key, seq] of ofChain ?? []) {
      // Links are pruned with their entries after the retention: an older entry has none.
      if (seq < oldestKept) continue
      result.problems.push({
        kind: 'moved',
        key,
        chain,
        seq,
        detail: `the entry says it is ${chain} #${seq}, and the chain links no entry under its key`,
      })
    }
  }
  return result
}
