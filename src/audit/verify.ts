/**
 * Verifies the stored audit log over a time range, one page of events at a time:
 *   - every event key: seal and signature over key + metadata (signing.ts), and the hash of its
 *     value (one get() each: verification reads what queries never need to);
 *   - every index key in the page's span, for every team and member of the policy and every
 *     team, member and certificate the page's entries name: it must point at an event of the
 *     page (else `orphan_index`: an entry was deleted), carry that event's metadata (else
 *     `index_altered`: a filter could be fooled), and no valid event may lack one of its index
 *     keys (`missing_index`).
 * Findings are reported, never repaired. Entries still `pending` are listed separately: a
 * mutation whose outcome never arrived is a fact to review, not tampering.
 */
import { z } from '@hono/zod-openapi'
import { canonical, judge, sha256 } from './signing'
import type { AuditEntry } from './entry'
import {
  baseOf,
  indexesOf,
  readEvent,
  scan,
  timeOfRev,
  type Family,
  type Position,
  type TimeRange,
} from './store'

/** What verification can find. The API's description of a report is built from these. */
export const problemKindSchema = z.enum([
  'unsigned',
  'forged',
  'altered',
  'missing_index',
  'orphan_index',
  'index_altered',
])
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
  unchecked_indexes: z.array(z.string()).optional().openapi({
    description: "Index families not fully read within the page's KV budget: verify a smaller page",
  }),
})

export type VerifyReport = z.output<typeof verifyReportSchema> & { cursor?: Position }

export const MAX_VERIFY_PAGE = 200

export async function verifyPage(
  kv: KVNamespace,
  options: {
    signingKey: string
    range: TimeRange
    limit: number
    cursor?: Position
    /** Teams and members to check for orphaned index keys even when no entry names them. */
    known: { teams: string[]; members: string[] }
    /** KV list() calls one page may make (a Worker invocation allows 1000 KV operations). */
    listBudget?: number
  },
): Promise<VerifyReport> {
  const { signingKey, range, limit } = options
  const events = { kind: 'events' } as const
  const budget = { lists: options.listBudget ?? 400 }
  const tails: string[] = []
  const walk = scan(kv, events, range, options.cursor, budget)
  let cursor: Position | undefined
  for (;;) {
    const next = await walk.next()
    if (next.done) {
      cursor = next.value
      break
    }
    tails.push(next.value.tail)
    if (tails.length >= limit) {
      cursor = next.value.resume
      break
    }
  }

  const problems: Problem[] = []
  const pending: string[] = []
  const valid = new Map<string, { entry: AuditEntry; summary: string }>()
  const present = new Set<string>()
  for (const tail of tails) {
    const key = baseOf(events) + tail
    const stored = await readEvent(kv, tail)
    if (stored === undefined) continue // expired between list() and get()
    present.add(tail)
    const state = await judge(signingKey, key, stored.metadata)
    if (state !== 'valid') {
      problems.push({ kind: state, key, detail: `signature check: ${state}` })
      continue
    }
    const { sig: _sig, seal: _seal, ...unsigned } = stored.metadata!
    if (unsigned.vh !== (await sha256(stored.value))) {
      problems.push({ kind: 'altered', key, detail: 'the value does not match its signed hash' })
      continue
    }
    const entry = JSON.parse(stored.value) as AuditEntry
    if (entry.outcome.class === 'pending') pending.push(key)
    valid.set(tail, { entry, summary: canonical(stored.metadata) })
  }

  // The span this page covers: after the previous page's last key, up to this page's last key.
  const after = options.cursor?.after ?? ''
  const until = cursor ? tails.at(-1)! : '~'
  const inSpan = (tail: string) => tail > after && tail <= until
  const span: TimeRange = {
    from: cursor ? timeOfRev(until.slice(0, 13)) : range.from,
    to: after ? timeOfRev(after.slice(0, 13)) : range.to,
    endsNow: !options.cursor && range.endsNow,
  }
  const families = new Map<string, Family>()
  const add = (family: Family) => families.set(baseOf(family), family)
  for (const team of options.known.teams) add({ kind: 'index', index: 'team', value: team })
  for (const member of options.known.members) {
    add({ kind: 'index', index: 'member', value: member })
  }
  for (const { entry } of valid.values()) indexesOf(entry).forEach(add)

  const indexed = new Map<string, Map<string, string>>()
  // Index families the KV-call budget ran out on: their keys were not all seen, so a key not seen
  // there is not evidence of anything. They are reported as unchecked, never as missing.
  const unchecked: string[] = []
  for (const [base, family] of families) {
    const found = new Map<string, string>()
    const walkIndex = scan(kv, family, span, undefined, budget)
    for (;;) {
      const next = await walkIndex.next()
      if (next.done) {
        if (next.value !== undefined) unchecked.push(base)
        break
      }
      const item = next.value
      if (inSpan(item.tail)) found.set(item.tail, canonical(item.metadata))
      else if (item.tail > until) break
    }
    if (unchecked.at(-1) === base) continue
    indexed.set(base, found)
    for (const [tail, summary] of found) {
      if (!present.has(tail)) {
        problems.push({ kind: 'orphan_index', key: base + tail, detail: 'no event under this key' })
      } else if (valid.has(tail) && valid.get(tail)!.summary !== summary) {
        problems.push({
          kind: 'index_altered',
          key: base + tail,
          detail: 'the index metadata differs from the signed event',
        })
      }
    }
  }
  for (const [tail, { entry }] of valid) {
    for (const family of indexesOf(entry)) {
      const seen = indexed.get(baseOf(family))
      if (seen !== undefined && !seen.has(tail)) {
        problems.push({
          kind: 'missing_index',
          key: baseOf(family) + tail,
          detail: `index key missing for ${baseOf(events) + tail}`,
        })
      }
    }
  }
  return {
    checked: tails.length,
    problems,
    pending,
    ...(unchecked.length > 0 ? { unchecked_indexes: unchecked } : {}),
    ...(cursor ? { cursor } : {}),
  }
}
