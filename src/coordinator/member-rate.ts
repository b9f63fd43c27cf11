/**
 * Each member's request rate inside the coordinator: one instance per member (`member:<id>`,
 * coordinator/shard.ts), so members never wait on each other and one member's flood meets only
 * its own instance. It owns no policy: each ask brings the limit and the period (policy/limits.ts),
 * and this module only counts, atomically (one synchronous SQL step per call).
 *
 * Why here and not in Cloudflare's Rate Limiting binding: the binding's limit and period are fixed
 * in wrangler.toml (10 or 60 s), not the policy's; it counts per location and approximately, so a
 * member spread over locations gets several times the rate; and it only answers yes or no, so it
 * cannot say which refusal is the first of a period (written as it is) and hand the count of the
 * others to exactly one summary entry. This instance is exact across isolates and locations, and
 * isolates keep it off most requests' path with leases (identity/member-rate.ts).
 *
 * Fixed windows of `periodMs`, aligned on the epoch. Per window, at most `limit` requests are
 * granted (a lease counts as spent when granted; what an isolate does not use is lost at the end of
 * the window: the error is on the side of fewer requests). A refused ask is answered with the
 * window's end (retry-after). Of the refusals of a window, the first is `record`ed (its request
 * leaves its own audit entry); the others, and what isolates refused on their own while they knew
 * the window was spent (`unrecorded`, brought with their next ask), are counted. At a window's end
 * the count becomes the *pending summary*, handed to the next ask of the member, at most one per
 * window: that request writes it as one `suppressed` audit entry. So a member's requests leave at
 * most `limit` + 2 entries per window, whatever they send.
 *
 * Table `member_rate`: one row per member (this instance holds one): the window's start, what it
 * granted and refused, the window's unrecorded refusals (JSON), the pending summary (JSON) and the
 * window in which the last summary was handed out.
 */
import { schema } from './schema'
import { mergeRefusals, type MemberRateAnswer, type MemberRateAsk, type Refusals } from './leases'

interface RateRow extends Record<string, SqlStorageValue> {
  window_ms: number
  granted: number
  refused: number
  current: string | null
  pending: string | null
  summarised_ms: number
}

const parse = (json: string | null): Refusals | null =>
  json === null ? null : (JSON.parse(json) as Refusals)
const json = (refusals: Refusals | null) => (refusals === null ? null : JSON.stringify(refusals))

/** The module's tables, as migrations (schema.ts). */
export const MEMBER_RATE_SCHEMA = schema('member-rate', [
  {
    id: 1,
    description: "each member's request rate",
    statements: [
      `CREATE TABLE IF NOT EXISTS member_rate (
        member TEXT PRIMARY KEY,
        window_ms INTEGER NOT NULL,
        granted INTEGER NOT NULL,
        refused INTEGER NOT NULL,
        current TEXT,
        pending TEXT,
        summarised_ms INTEGER NOT NULL
      )`,
    ],
  },
])

export function memberRateTable(sql: SqlStorage) {
  return {
    /** Forgets what the member's instance counted: its window starts afresh (tests). */
    forget(): void {
      sql.exec('DELETE FROM member_rate')
    },

    ask(ask: MemberRateAsk, nowMs: number): MemberRateAnswer {
      const windowMs = Math.floor(nowMs / ask.periodMs) * ask.periodMs
      const windowEndMs = windowMs + ask.periodMs
      const [stored] = sql
        .exec<RateRow>('SELECT * FROM member_rate WHERE member = ?', ask.member)
        .toArray()
      let row: RateRow = stored ?? {
        window_ms: windowMs,
        granted: 0,
        refused: 0,
        current: null,
        pending: null,
        summarised_ms: -1,
      }
      let pending = parse(row.pending)
      if (row.window_ms !== windowMs) {
        // A new window: what the last one did not record individually waits for its summary.
        pending = mergeRefusals(pending, parse(row.current))
        row = { ...row, window_ms: windowMs, granted: 0, refused: 0, current: null }
      }
      // Refusals an isolate answered by itself happened in an earlier ask's window.
      pending = mergeRefusals(pending, ask.unrecorded)
      let current = parse(row.current)

      const granted = Math.max(0, Math.min(ask.want, ask.limit - row.granted))
      let record = true
      if (granted === 0) {
        row.refused++
        if (row.refused > 1) {
          record = false
          const at = new Date(nowMs).toISOString()
          const one = { count: 1, first: at, last: at, error_codes: { [ask.code]: 1 } }
          current = mergeRefusals(current, one)
        }
      }
      let summary: Refusals | null = null
      if (pending !== null && row.summarised_ms < windowMs) {
        summary = pending
        pending = null
        row.summarised_ms = windowMs
      }
      sql.exec(
        `INSERT INTO member_rate
           (member, window_ms, granted, refused, current, pending, summarised_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (member) DO UPDATE SET window_ms = excluded.window_ms,
           granted = excluded.granted, refused = excluded.refused, current = excluded.current,
           pending = excluded.pending, summarised_ms = excluded.summarised_ms`,
        ask.member,
        windowMs,
        row.granted + granted,
        row.refused,
        json(current),
        json(pending),
        row.summarised_ms,
      )
      return { granted, windowEndMs, record, summary }
    },
  }
}
