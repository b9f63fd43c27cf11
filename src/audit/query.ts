/**
 * Reviewers' queries over the audit log: a time range and filters in, entries out, newest first,
 * with a cursor to continue. Answered from key metadata only (store.scan), never a get() per entry.
 *
 * What is listed is the event keys of the time range (store.ts: there is no secondary index), or,
 * for a request id, the one millisecond it names (it is a UUIDv7). Every filter is applied to each
 * listed summary, so a query costs one list() call per 1,000 events in its range, whatever it
 * keeps. A page can come back shorter than `limit` with a cursor when its list() budget ran out (a
 * very selective filter over many entries): continue with the cursor. No Hono types here: handlers
 * and the verifier call it with plain values.
 */
import { base64url, fromBase64url } from '../lib/encoding'
import { GatewayError } from '../lib/errors'
import { uuidv7Time } from '../lib/uuidv7'
import { expand, type AuditEntry, type Summary } from './entry'
import { matches, type Filters } from './filters'
import {
  eventKey,
  isPosition,
  scan,
  type Budget,
  type Position,
  type Scanned,
  type TimeRange,
} from './store'

export { matches, type Filters }

export interface Query extends Filters {
  range: TimeRange
  limit: number
  cursor?: Position
}

export interface Page {
  entries: AuditEntry[]
  cursor?: Position
}

/** List() calls one page may spend (1000 keys each); KV allows 1000 operations per invocation. */
const PAGE_LIST_BUDGET = 100

/** A summary read from KV, if it looks like one. */
function summaryOf(item: Scanned): Summary | undefined {
  const m = item.metadata
  if (m === null || typeof m.id !== 'string' || typeof m.o !== 'string') return undefined
  return m as unknown as Summary
}

export interface Found {
  entry: AuditEntry
  /** The event's key and its stored metadata (signature included), for verifiable exports. */
  key: string
  metadata: Record<string, unknown>
  resume: Position
}

/**
 * The entries of one query, one at a time: what pages and exports both consume. Returns the
 * position to continue from if the budget ran out first.
 */
export async function* entries(
  kv: KVNamespace,
  query: Omit<Query, 'limit'>,
  budget: Budget,
): AsyncGenerator<Found, Position | undefined> {
  let { range } = query
  if (query.requestId !== undefined) {
    // The id names its millisecond: narrow the range to it (or to nothing, if outside the range).
    const time = uuidv7Time(query.requestId)
    if (time === undefined || time < range.from || time > range.to) return undefined
    range = { from: time, to: time, endsNow: false }
  }
  const walk = scan(kv, range, query.cursor, budget)
  for (;;) {
    const next = await walk.next()
    if (next.done) return next.value
    const summary = summaryOf(next.value)
    // Entries that do not carry a readable summary are skipped here and reported by verify.
    if (summary && matches(summary, query)) {
      const { tail, metadata, resume } = next.value
      yield { entry: expand(summary), key: eventKey(tail), metadata: metadata!, resume }
    }
  }
}

export async function runQuery(kv: KVNamespace, query: Query): Promise<Page> {
  const budget = { lists: PAGE_LIST_BUDGET }
  const found: AuditEntry[] = []
  const walk = entries(kv, query, budget)
  for (;;) {
    const next = await walk.next()
    if (next.done) return { entries: found, ...(next.value ? { cursor: next.value } : {}) }
    found.push(next.value.entry)
    if (found.length >= query.limit) {
      // Whether anything follows is known only by looking; the cursor may lead to an empty page.
      await walk.return(undefined)
      return { entries: found, cursor: next.value.resume }
    }
  }
}

/** Cursors are opaque to callers: base64url of the position, checked when it comes back. */
export function encodeCursor(position: Position): string {
  const json = JSON.stringify({ p: position.prefix, c: position.kvCursor, a: position.after })
  return base64url(new TextEncoder().encode(json))
}

function decodeCursor(cursor: string): Position | undefined {
  try {
    const bytes = fromBase64url(cursor)
    if (bytes === undefined) return undefined
    const json = new TextDecoder().decode(bytes)
    const { p, c, a } = JSON.parse(json) as { p: unknown; c: unknown; a: unknown }
    if (typeof p !== 'string' || typeof a !== 'string') return undefined
    if (c !== undefined && typeof c !== 'string') return undefined
    const position: Position = { prefix: p, after: a, ...(c ? { kvCursor: c } : {}) }
    return isPosition(position) ? position : undefined
  } catch {
    return undefined
  }
}

/** A cursor a caller sent back, as a position; refused (18103, pointer /cursor) if it is not one. */
export function positionOf(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined
  const position = decodeCursor(cursor)
  if (position === undefined) {
    throw GatewayError.of('INVALID_QUERY', {
      message: 'cursor is not one this query returned',
      pointer: '/cursor',
    })
  }
  return position
}
