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

export interface VerifyOptions {
  signingKey: string
  range: TimeRange
  limit: number
  cursor?: Position
  /** Teams and members to check for orphaned index keys even when no entry names them. */
  known: { teams: string[]; members: string[] }
  /** KV list() calls one page may make (a Worker invocation allows 1000 KV operations). */
  listBudget?: number
}

const EVENTS = { kind: 'events' } as const
type Budget = { lists: number }

/** Verifies one page: its events, then the index keys in the span those events cover. */
export async function verifyPage(kv: KVNamespace, options: VerifyOptions): Promise<VerifyReport> {
  const budget: Budget = { lists: options.listBudget ?? 400 }
  const { tails, cursor } = await listPage(kv, options, budget)
  const events = await checkEvents(kv, options.signingKey, tails)
  const span = spanOf(options, tails, cursor)
  const families = familiesToCheck(options.known, events.valid)
  const indexes = await checkIndexes(kv, families, span, events, budget)
  return {
    checked: tails.length,
    problems: [...events.problems, ...indexes.problems],
    pending: events.pending,
    ...(indexes.unchecked.length > 0 ? { unchecked_indexes: indexes.unchecked } : {}),
    ...(cursor ? { cursor } : {}),
  }
}

/** The event keys of this page, newest first, and where the next page starts (if any). */
async function listPage(kv: KVNamespace, options: VerifyOptions, budget: Budget) {
  const tails: string[] = []
  const walk = scan(kv, EVENTS, options.range, options.cursor, budget)
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
  /** Events whose seal, signature and value hash hold, with their canonical metadata. */
  valid: Map<string, { entry: AuditEntry; summary: string }>
  /** Events that exist (valid or not): an index key pointing elsewhere is an orphan. */
  present: Set<string>
}

/** Each event: seal and signature over key and metadata, then its value against its signed hash. */
async function checkEvents(
  kv: KVNamespace,
  signingKey: string,
  tails: string[],
): Promise<CheckedEvents> {
  const checked: CheckedEvents = { problems: [], pending: [], valid: new Map(), present: new Set() }
  for (const tail of tails) {
    const key = baseOf(EVENTS) + tail
    const stored = await readEvent(kv, tail)
    if (stored === undefined) continue // expired between list() and get()
    checked.present.add(tail)
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
    checked.valid.set(tail, { entry, summary: canonical(stored.metadata) })
  }
  return checked
}

/** The span this page covers: after the previous page's last key, up to this page's last key. */
function spanOf(options: VerifyOptions, tails: string[], cursor: Position | undefined) {
  const after = options.cursor?.after ?? ''
  const until = cursor ? tails.at(-1)! : '~'
  const range: TimeRange = {
    from: cursor ? timeOfRev(until.slice(0, 13)) : options.range.from,
    to: after ? timeOfRev(after.slice(0, 13)) : options.range.to,
    endsNow: !options.cursor && options.range.endsNow,
  }
  return { range, until, contains: (tail: string) => tail > after && tail <= until }
}

/** The policy's teams and members, and every index the page's valid entries name. */
function familiesToCheck(
  known: VerifyOptions['known'],
  valid: CheckedEvents['valid'],
): Map<string, Family> {
  const families = new Map<string, Family>()
  const add = (family: Family) => families.set(baseOf(family), family)
  for (const team of known.teams) add({ kind: 'index', index: 'team', value: team })
  for (const member of known.members) add({ kind: 'index', index: 'member', value: member })
  for (const { entry } of valid.values()) indexesOf(entry).forEach(add)
  return families
}

/**
 * Every index key in the span must point at an event of the page and carry its metadata; every
 * valid event must have each of its index keys. Index families the KV-call budget ran out on were
 * not all seen, so a key not seen there is not evidence of anything: they are reported as
 * unchecked, never as missing.
 */
async function checkIndexes(
  kv: KVNamespace,
  families: Map<string, Family>,
  span: ReturnType<typeof spanOf>,
  events: CheckedEvents,
  budget: Budget,
) {
  const problems: Problem[] = []
  const unchecked: string[] = []
  const indexed = new Map<string, Map<string, string>>()
  for (const [base, family] of families) {
    const found = await readIndex(kv, family, span, budget)
    if (found === undefined) {
      unchecked.push(base)
      continue
    }
    indexed.set(base, found)
    for (const [tail, summary] of found) {
      if (!events.present.has(tail)) {
        problems.push({ kind: 'orphan_index', key: base + tail, detail: 'no event under this key' })
      } else if (events.valid.has(tail) && events.valid.get(tail)!.summary !== summary) {
        problems.push({
          kind: 'index_altered',
          key: base + tail,
          detail: 'the index metadata differs from the signed event',
        })
      }
    }
  }
  for (const [tail, { entry }] of events.valid) {
    for (const family of indexesOf(entry)) {
      const seen = indexed.get(baseOf(family))
      if (seen !== undefined && !seen.has(tail)) {
        problems.push({
          kind: 'missing_index',
          key: baseOf(family) + tail,
          detail: `index key missing for ${baseOf(EVENTS) + tail}`,
        })
      }
    }
  }
  return { problems, unchecked }
}

/** One index family's keys in the span, with their canonical metadata; undefined if cut short. */
async function readIndex(
  kv: KVNamespace,
  family: Family,
  span: ReturnType<typeof spanOf>,
  budget: Budget,
): Promise<Map<string, string> | undefined> {
  const found = new Map<string, string>()
  const walk = scan(kv, family, span.range, undefined, budget)
  for (;;) {
    const next = await walk.next()
    if (next.done) return next.value === undefined ? found : undefined
    const item = next.value
    if (span.contains(item.tail)) found.set(item.tail, canonical(item.metadata))
    else if (item.tail > span.until) return found
  }
}
