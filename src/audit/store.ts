/**
 * The audit log in Workers KV (binding AUDIT): the only module that knows its key names. Nothing
 * else calls the AUDIT binding. It never reads-modifies-writes: every key belongs to one request.
 *
 * Layout (version-prefixed, so a new layout can live beside this one):
 *
 *   v1:e:<rev>:<id>     one key per event, and nothing else: a read costs one KV write
 *       value     the full entry, JSON (`AuditEntry`, entry.ts)
 *       metadata  the entry's `Summary` (entry.ts: what reviewers filter on and what the API
 *                 returns) + vh, sig, seal (signing.ts); at most 1024 bytes, checked on write
 *
 *   <rev> = 9999999999999 - the event's Unix time in ms, 13 digits. list() returns keys in
 *           ascending byte order and cannot start at a given key, so the time is reversed: the
 *           newest entry is the first key, and "what happened lately", the usual question and
 *           the order the API answers in, is the first list() page instead of the last one.
 *   <id>  = the request id, a UUIDv7 the gateway minted (so unique, and it names its own ms:
 *           a request id alone gives the exact key prefix, which is why there is no request
 *           index); for a flood summary, a fresh UUIDv7.
 *
 * Why no secondary index: an index key per team, member and certificate an entry touches was
 * 2-3 more writes per request (KV's free plan allows 1,000 writes a day), and a copy of the signed
 * metadata that could disagree with it. Every filter (team, member, certificate, action, outcome,
 * decision) is answered from the event keys' own metadata, which list() returns with the keys:
 * still list() calls only, never a get() per entry. The price is paid by selective queries: a
 * query lists every event in its time range, about one list() call per 1,000 events, whatever
 * it keeps (see docs/auditors.md, "Retention and layout", for the cost per query). Index keys written by earlier versions
 * (v1:team:, v1:member:, v1:cert:) are read by nothing and expire with their retention.
 *
 * Writes: the event key, with expirationTtl = AUDIT_RETENTION_DAYS. A mutation's entry is written
 * twice under the same key (pending, then with its outcome); KV allows about one write per second
 * per key, so the second write is retried once after that second has passed.
 *
 * Reads: `scan()` walks the event keys over a time range, newest first, resumable from a
 * `Position`. To skip what is newer than the range's end without reading it, it lists by decimal
 * prefixes of <rev>: one coarse prefix when the range ends now (nothing newer exists), else from a
 * 10^7 ms (2.8 h) bucket upward, so a query costs about N/1000 list calls plus at most a few
 * dozen prefixes.
 */
import type { Checkpoint } from './checkpoint'
import type { AuditEntry, Summary } from './entry'
import { MAX_METADATA_BYTES, fit, summarize } from './entry'
import { sha256, sign } from './signing'

const LAYOUT = 'v1'
const MAX_MS = 9_999_999_999_999
const REV_DIGITS = 13
/** Finest prefix used when the range ends in the past: 6 digits of <rev> = buckets of 10^7 ms. */
const FINE_DIGITS = 6
const SAME_KEY_GAP_MS = 1_100

export const rev = (ms: number) => String(MAX_MS - ms).padStart(REV_DIGITS, '0')
const timeOfRev = (digits: string) => MAX_MS - Number(digits)
export const tailOf = (time: number, id: string) => `${rev(time)}:${id}`

const EVENTS_BASE = `${LAYOUT}:e:`

export const eventKey = (tail: string) => EVENTS_BASE + tail

/** The KV key an entry is stored under (its chain link commits to it). */
export const eventKeyOf = (entry: Pick<AuditEntry, 'time' | 'id'>) =>
  eventKey(tailOf(Date.parse(entry.time), entry.id))

export interface StoreSettings {
  signingKey: string
  retentionDays: number
}

/** Metadata as stored on an event key. */
export type StoredMetadata = Summary & { vh: string; sig: string; seal: string }

/** Writes one entry: its event key, value and signed metadata. Rejects if the write fails. */
export async function writeEntry(
  kv: KVNamespace,
  entry: AuditEntry,
  settings: StoreSettings,
): Promise<void> {
  const key = eventKeyOf(entry)
  const value = JSON.stringify(entry)
  const unsigned = { ...fit(summarize(entry)), vh: await sha256(value) }
  const metadata: StoredMetadata = {
    ...unsigned,
    ...(await sign(settings.signingKey, key, unsigned)),
  }
  const size = new TextEncoder().encode(JSON.stringify(metadata)).length
  if (size > MAX_METADATA_BYTES) throw new Error(`audit metadata of ${size} bytes for ${key}`)
  await kv.put(key, value, { expirationTtl: settings.retentionDays * 86_400, metadata })
}

/** The second write of a mutation's entry, to the key written moments ago. */
export async function rewriteEntry(kv: KVNamespace, entry: AuditEntry, settings: StoreSettings) {
  try {
    await writeEntry(kv, entry, settings)
  } catch {
    await new Promise((resolve) => setTimeout(resolve, SAME_KEY_GAP_MS))
    await writeEntry(kv, entry, settings)
  }
}

export async function readEvent(kv: KVNamespace, tail: string) {
  const { value, metadata } = await kv.getWithMetadata<Record<string, unknown>>(eventKey(tail))
  return value === null ? undefined : { value, metadata }
}

/** Where a scan stands: the prefix being listed, the list() cursor of its page, the last tail seen. */
export interface Position {
  prefix: string
  kvCursor?: string
  after: string
}

/** An inclusive range of event times, in ms, and whether it reaches the present. */
export interface TimeRange {
  from: number
  to: number
  /** True when nothing can be newer than `to` (the range ends now): one coarse prefix suffices. */
  endsNow: boolean
}

export interface Scanned {
  tail: string
  time: number
  metadata: Record<string, unknown> | null
  /** Resume here to continue after this key. */
  resume: Position
}

/** Counts what a scan may still spend, so one invocation stays under KV's 1000 operations. */
export interface Budget {
  lists: number
}

function commonPrefix(a: string, b: string): string {
  let i = 0
  while (i < a.length && a[i] === b[i]) i++
  return a.slice(0, i)
}

/** The next prefix in ascending order after every key under `digits`: its next sibling, or up. */
function nextDigits(digits: string): string | undefined {
  for (let d = digits; d.length > 0; d = d.slice(0, -1)) {
    const last = Number(d.at(-1))
    if (last < 9) return d.slice(0, -1) + String(last + 1)
  }
  return undefined
}

/**
 * Yields the event keys in the range, newest first, after `start` if given. Returns the position
 * to resume from when the budget ran out, or undefined when the range is exhausted.
 */
export async function* scan(
  kv: KVNamespace,
  range: TimeRange,
  start: Position | undefined,
  budget: Budget,
): AsyncGenerator<Scanned, Position | undefined> {
  const lo = rev(range.to)
  const hi = rev(range.from)
  let prefix: string | undefined =
    start?.prefix ??
    // A range that ends now has nothing newer to skip, and a single millisecond is one prefix.
    EVENTS_BASE + (range.endsNow || lo === hi ? commonPrefix(lo, hi) : lo.slice(0, FINE_DIGITS))
  let kvCursor = start?.kvCursor
  let after = start?.after ?? ''

  while (prefix !== undefined) {
    const digits = prefix.slice(EVENTS_BASE.length)
    if (digits.padEnd(REV_DIGITS, '0') > hi) return undefined
    if (budget.lists <= 0) return { prefix, ...(kvCursor ? { kvCursor } : {}), after }
    budget.lists--
    const page: KVNamespaceListResult<unknown, string> = await kv.list({
      prefix,
      limit: 1000,
      ...(kvCursor ? { cursor: kvCursor } : {}),
    })
    const next = nextDigits(digits)
    for (const [index, key] of page.keys.entries()) {
      const tail = key.name.slice(EVENTS_BASE.length)
      if (tail <= after) continue
      const keyRev = tail.slice(0, REV_DIGITS)
      if (keyRev > hi) return undefined
      if (keyRev < lo) continue
      // After a page's last key, resume at the following page instead of re-listing this one.
      const resume: Position =
        index < page.keys.length - 1
          ? { prefix, ...(kvCursor ? { kvCursor } : {}), after: tail }
          : !page.list_complete
            ? { prefix, kvCursor: page.cursor, after: tail }
            : next !== undefined
              ? { prefix: EVENTS_BASE + next, after: tail }
              : { prefix, ...(kvCursor ? { kvCursor } : {}), after: tail }
      after = tail
      yield {
        tail,
        time: timeOfRev(keyRev),
        metadata: (key.metadata ?? null) as Record<string, unknown> | null,
        resume,
      }
    }
    if (page.list_complete) {
      prefix = next === undefined ? undefined : EVENTS_BASE + next
      kvCursor = undefined
    } else {
      kvCursor = page.cursor
    }
  }
  return undefined
}

/** Positions travel to clients as opaque cursors; this checks one names event keys. */
export function isPosition(position: Position): boolean {
  return (
    position.prefix.startsWith(EVENTS_BASE) &&
    /^\d{0,13}$/.test(position.prefix.slice(EVENTS_BASE.length)) &&
    (position.after === '' || /^\d{13}:[0-9a-f-]{36}$/.test(position.after))
  )
}

/**
 * Checkpoints the gateway signs every hour (audit/checkpoint.ts): `v1:cp:<chain>:<rev>`, value and
 * metadata the checkpoint itself, so that listing them is list() calls alone, newest first.
 */
const checkpointBase = (chain: string) => `${LAYOUT}:cp:${chain}:`

export async function writeCheckpoint(
  kv: KVNamespace,
  checkpoint: Checkpoint,
  retentionDays: number,
): Promise<void> {
  const key = checkpointBase(checkpoint.chain) + rev(Date.parse(checkpoint.at))
  await kv.put(key, JSON.stringify(checkpoint), {
    expirationTtl: retentionDays * 86_400,
    metadata: checkpoint,
  })
}

/** A chain's stored checkpoints, newest first, at most `limit` (one list() call per 1000). */
export async function listCheckpoints(
  kv: KVNamespace,
  chain: string,
  limit: number,
): Promise<unknown[]> {
  const found: unknown[] = []
  let cursor: string | undefined
  do {
    const page: KVNamespaceListResult<unknown, string> = await kv.list({
      prefix: checkpointBase(chain),
      limit: Math.min(1000, limit - found.length),
      ...(cursor ? { cursor } : {}),
    })
    for (const key of page.keys) found.push(key.metadata)
    cursor = page.list_complete ? undefined : page.cursor
  } while (cursor && found.length < limit)
  return found
}
