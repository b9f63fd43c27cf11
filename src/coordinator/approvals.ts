/**
 * Approvals inside the coordinator: the record of each parked delete and its transitions, as SQL
 * on the Durable Object's own storage. It decides nothing about who may approve (approvals/ does,
 * before it claims); it only guarantees that each transition happens once:
 *
 *   pending ──claim──▶ executing ──close──▶ executed | failed
 *      ▲                   │
 *      └─────release───────┘  (the claimant was refused before it forwarded anything)
 *   pending ──(read or claim after expires_at)──▶ expired
 *
 * A claim is one `UPDATE ... WHERE status = 'pending'` (claim-machine.ts, shared with transfer
 * requests), so of N concurrent approvals exactly one gets `executing` and may forward the delete. An approval stuck in `executing` (the Worker died
 * between the claim and the close) stays closed: never run twice, whatever happened upstream.
 *
 * Table `approvals`: id, status, expires_ms (for expiry and pruning), created_ms (the order in
 * which pending approvals are listed), the parked record as JSON (immutable), and the columns the
 * transitions set (approved_by, closed_at, outcome). Rows live one day past their expiry, so that
 * "expired" can be told from "unknown", then are pruned.
 *
 * Listing (`pending`): the account's pending approvals, oldest first by (created_ms, id), a page
 * at a time with a cursor, so that every one of them can be reached however many one member parks
 * (the console listed them from a bounded scan of the audit log before, and 200 new ones hid the
 * older). The rows are pre-filtered here to those the asker may be concerned by (requested by them
 * or naming one of their roles); who may see one is decided by the Worker on its record.
 *
 * Migration 2 gives tables made before `created_ms` the column, filled from each record's
 * `created_at`.
 */
import { claimMachine } from './claim-machine'
import { schema } from './schema'
import type { Approval, Claim, Closing, Ending, PendingPage } from '../approvals/store'

/** Rows read per listing call at most, matching or not: one call stays short. */
const PENDING_SCAN = 500

const LINGER_MS = 86_400_000

type ApprovalStatus = Approval['status']
interface Row extends Record<string, SqlStorageValue> {
  record: string
  status: string
  approved_by: string | null
  closed_at: string | null
  outcome: string | null
  // Issue 22 (migration 3).
  closed_by: string | null
  close_reason: string | null
}

/** `<created_ms>.<id>`; none: from the start. */
function parseCursor(cursor: string | null): [number, string] {
  const match = cursor === null ? null : /^(\d{1,15})\.([0-9a-f-]{1,64})$/.exec(cursor)
  return match ? [Number(match[1]), match[2]!] : [-1, '']
}

/** The module's tables, as migrations (schema.ts). */
export const APPROVALS_SCHEMA = schema('approvals', [
  {
    id: 1,
    description: 'parked deletes and their transitions',
    statements: [
      `CREATE TABLE IF NOT EXISTS approvals (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL
          CHECK (status IN ('pending', 'executing', 'executed', 'failed', 'expired')),
        expires_ms INTEGER NOT NULL,
        record TEXT NOT NULL,
        approved_by TEXT,
        closed_at TEXT,
        outcome TEXT
      )`,
      'CREATE INDEX IF NOT EXISTS approvals_by_expiry ON approvals (expires_ms)',
    ],
  },
  {
    id: 2,
    description: 'pending approvals listed in the order they were parked',
    statements: [
      'ALTER TABLE approvals ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0',
      // Rows parked before the column: their time from the record's `created_at`.
      `UPDATE approvals SET created_ms =
         CAST(ROUND((julianday(json_extract(record, '$.created_at')) - 2440587.5) * 86400000) AS INTEGER)`,
      'CREATE INDEX IF NOT EXISTS approvals_pending ON approvals (status, created_ms, id)',
    ],
  },
  // Issue 22: SQLite cannot change a CHECK, so the table is rebuilt, rows and all.
  {
    id: 3,
    description:
      'approvals withdrawn, rejected or gone, with who closed them and why; one open per certificate',
    statements: [
      `CREATE TABLE approvals_v3 (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN
          ('pending', 'executing', 'executed', 'failed', 'expired', 'withdrawn', 'rejected', 'gone')),
        expires_ms INTEGER NOT NULL,
        record TEXT NOT NULL,
        approved_by TEXT,
        closed_at TEXT,
        outcome TEXT,
        created_ms INTEGER NOT NULL DEFAULT 0,
        certificate_id TEXT NOT NULL DEFAULT '',
        closed_by TEXT,
        close_reason TEXT
      )`,
      `INSERT INTO approvals_v3
         (id, status, expires_ms, record, approved_by, closed_at, outcome, created_ms, certificate_id)
       SELECT id, status, expires_ms, record, approved_by, closed_at, outcome, created_ms,
         COALESCE(json_extract(record, '$.certificate_id'), '')
       FROM approvals`,
      'DROP TABLE approvals',
      'ALTER TABLE approvals_v3 RENAME TO approvals',
      'CREATE INDEX approvals_by_expiry ON approvals (expires_ms)',
      'CREATE INDEX approvals_pending ON approvals (status, created_ms, id)',
      'CREATE INDEX approvals_by_certificate ON approvals (certificate_id, status)',
    ],
  },
])

export function approvalTable(sql: SqlStorage) {
  const iso = (ms: number) => new Date(ms).toISOString()
  // The claim, release, close and expiry: the transfers' own too (claim-machine.ts).
  const machine = claimMachine(sql, 'approvals')
  const expireIfDue = (id: string, nowMs: number) => machine.expire(nowMs, id)

  function read(id: string, nowMs: number): Approval | null {
    expireIfDue(id, nowMs)
    const [row] = sql.exec<Row>('SELECT * FROM approvals WHERE id = ?', id).toArray()
    if (row === undefined) return null
    const parked = JSON.parse(row.record) as Approval
    return {
      ...parked,
      status: row.status as ApprovalStatus,
      ...(row.approved_by !== null ? { approved_by: row.approved_by } : {}),
      ...(row.closed_at !== null ? { closed_at: row.closed_at } : {}),
      ...(row.outcome !== null ? { outcome: row.outcome } : {}),
      ...(row.closed_by !== null ? { closed_by: row.closed_by } : {}),
      ...(row.close_reason !== null ? { close_reason: row.close_reason } : {}),
    }
  }

  /** Stores a new pending approval; prunes those a day past their expiry on the way. */
  function park(approval: Approval, nowMs: number): void {
    sql.exec('DELETE FROM approvals WHERE expires_ms < ?', nowMs - LINGER_MS)
    sql.exec(
      `INSERT INTO approvals (id, status, expires_ms, created_ms, certificate_id, record)
       VALUES (?, 'pending', ?, ?, ?, ?)`,
      approval.id,
      Date.parse(approval.expires_at),
      Date.parse(approval.created_at),
      approval.certificate_id,
      JSON.stringify({ ...approval, status: 'pending' }),
    )
  }

  return {
    /** Every approval this instance holds, any status, oldest first (inspection: tests). */
    all(): { id: string; status: string; record: Approval }[] {
      return sql
        .exec<{ id: string; status: string; record: string }>(
          'SELECT id, status, record FROM approvals ORDER BY rowid',
        )
        .toArray()
        .map((row) => ({ ...row, record: JSON.parse(row.record) as Approval }))
    },

    park,

    // Issue 22: one open approval per certificate; ending one without a delete.
    /** The certificate's open approval if it has one (expired ones closed first), else `approval`. */
    parkOnce(approval: Approval, nowMs: number): { approval: Approval; existing: boolean } {
      sql.exec(
        `UPDATE approvals SET status = 'expired', closed_at = ?
         WHERE certificate_id = ? AND status = 'pending' AND expires_ms <= ?`,
        iso(nowMs),
        approval.certificate_id,
        nowMs,
      )
      const [open] = sql
        .exec<{ id: string }>(
          `SELECT id FROM approvals WHERE certificate_id = ? AND status IN ('pending', 'executing')
           ORDER BY created_ms, id LIMIT 1`,
          approval.certificate_id,
        )
        .toArray()
      const existing = open === undefined ? null : read(open.id, nowMs)
      if (existing !== null) return { approval: existing, existing: true }
      park(approval, nowMs)
      return { approval: read(approval.id, nowMs)!, existing: false }
    },

    /** Only a pending approval ends, once: withdrawn, rejected, or gone. */
    end(id: string, ending: Ending, nowMs: number): { ended: boolean; approval: Approval | null } {
      expireIfDue(id, nowMs)
      const done = sql
        .exec(
          `UPDATE approvals SET status = ?, closed_at = ?, closed_by = ?, close_reason = ?
           WHERE id = ? AND status = 'pending' RETURNING id`,
          ending.status,
          iso(nowMs),
          ending.by,
          ending.reason ?? null,
          id,
        )
        .toArray()
      return { ended: done.length === 1, approval: read(id, nowMs) }
    },

    read,

    /** A page of pending approvals, oldest first; `next` is the last row read, null at the end. */
    pending(page: PendingPage, nowMs: number): { approvals: Approval[]; next: string | null } {
      const [afterMs, afterId] = parseCursor(page.after)
      const rows = sql.exec<Row & { id: string; created_ms: number }>(
        `SELECT * FROM approvals
         WHERE status = 'pending' AND expires_ms > ?
           AND (created_ms > ? OR (created_ms = ? AND id > ?))
         ORDER BY created_ms, id LIMIT ?`,
        nowMs,
        afterMs,
        afterMs,
        afterId,
        PENDING_SCAN,
      )
      const approvals: Approval[] = []
      const { member, roles } = page.concerning
      let last: string | null = null
      let read = 0
      for (const row of rows) {
        read++
        last = `${row.created_ms}.${row.id}`
        const parked = JSON.parse(row.record) as Approval
        if (
          page.concerning.everyone === true ||
          parked.requested_by === member ||
          parked.roles.some((r) => roles.includes(r))
        ) {
          approvals.push({ ...parked, status: 'pending' })
          if (approvals.length >= page.limit) break
        }
      }
      // A short read reached the end; a full page or a full scan may have more after `last`.
      const more = approvals.length >= page.limit || read >= PENDING_SCAN
      return { approvals, next: more ? last : null }
    },

    claim(id: string, approver: string, nowMs: number): Claim {
      expireIfDue(id, nowMs)
      const claimed = machine.claim(id, approver)
      return { claimed, approval: read(id, nowMs) }
    },

    /** Only the claimant releases, and only before it forwarded the delete (approvals/approve.ts). */
    release(id: string, approver: string, nowMs: number): Approval | null {
      machine.release(id, approver)
      return read(id, nowMs)
    },

    /** Only an executing approval closes, once: a late or repeated close changes nothing. */
    close(id: string, closing: Closing, nowMs: number): Approval | null {
      machine.close(id, closing.status, nowMs, { outcome: closing.outcome ?? null })
      return read(id, nowMs)
    },
  }
}
