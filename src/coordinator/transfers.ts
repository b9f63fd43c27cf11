/**
 * Transfer requests inside the coordinator (ownership/transfer-store.ts says what they are): one
 * table per account instance, each transition one SQL statement, so that of concurrent approvals
 * exactly one claims a request and a request is filed once per certificate and team.
 *
 * Table `transfers`: id, certificate_id and to_team (the one-pending-per-pair rule), status,
 * expires_ms, the filed record as JSON (immutable), approved_by and closed_at. Rows are pruned a
 * day past their expiry.
 */
import { schema } from './schema'
import type { Transfer } from '../ownership/transfer-store'

const LINGER_MS = 86_400_000

interface Row extends Record<string, SqlStorageValue> {
  record: string
  status: string
  approved_by: string | null
  closed_at: string | null
}

/** The module's tables, as migrations (schema.ts). */
export const TRANSFERS_SCHEMA = schema('transfers', [
  {
    id: 1,
    description: 'transfer requests between teams',
    statements: [
      `CREATE TABLE IF NOT EXISTS transfers (
        id TEXT PRIMARY KEY,
        certificate_id TEXT NOT NULL,
        to_team TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'executing', 'executed', 'expired')),
        expires_ms INTEGER NOT NULL,
        record TEXT NOT NULL,
        approved_by TEXT,
        closed_at TEXT
      )`,
      'CREATE INDEX IF NOT EXISTS transfers_by_pair ON transfers (certificate_id, to_team)',
    ],
  },
])

export function transferTable(sql: SqlStorage) {
  const iso = (ms: number) => new Date(ms).toISOString()

  function expireDue(nowMs: number) {
    sql.exec(
      `UPDATE transfers SET status = 'expired', closed_at = ?
       WHERE status = 'pending' AND expires_ms <= ?`,
      iso(nowMs),
      nowMs,
    )
    sql.exec('DELETE FROM transfers WHERE expires_ms < ?', nowMs - LINGER_MS)
  }

  const fromRow = (row: Row): Transfer => ({
    ...(JSON.parse(row.record) as Transfer),
    status: row.status as Transfer['status'],
    ...(row.approved_by !== null ? { approved_by: row.approved_by } : {}),
    ...(row.closed_at !== null ? { closed_at: row.closed_at } : {}),
  })

  function read(id: string, nowMs: number): Transfer | null {
    expireDue(nowMs)
    const [row] = sql.exec<Row>('SELECT * FROM transfers WHERE id = ?', id).toArray()
    return row === undefined ? null : fromRow(row)
  }

  return {
    /** Forgets every transfer request of the account (tests reset between cases). */
    forget(): void {
      sql.exec('DELETE FROM transfers')
    },

    file(transfer: Transfer, nowMs: number): Transfer {
      expireDue(nowMs)
      const [open] = sql
        .exec<Row>(
          `SELECT * FROM transfers WHERE certificate_id = ? AND to_team = ?
           AND status IN ('pending', 'executing')`,
          transfer.certificate_id,
          transfer.to_team,
        )
        .toArray()
      if (open !== undefined) return fromRow(open)
      sql.exec(
        `INSERT INTO transfers (id, certificate_id, to_team, status, expires_ms, record)
         VALUES (?, ?, ?, 'pending', ?, ?)`,
        transfer.id,
        transfer.certificate_id,
        transfer.to_team,
        Date.parse(transfer.expires_at),
        JSON.stringify({ ...transfer, status: 'pending' }),
      )
      return read(transfer.id, nowMs)!
    },

    list(nowMs: number): Transfer[] {
      expireDue(nowMs)
      return sql.exec<Row>('SELECT * FROM transfers ORDER BY id').toArray().map(fromRow)
    },

    read,

    claim(id: string, approver: string, nowMs: number) {
      expireDue(nowMs)
      const won = sql
        .exec(
          `UPDATE transfers SET status = 'executing', approved_by = ?
           WHERE id = ? AND status = 'pending' RETURNING id`,
          approver,
          id,
        )
        .toArray()
      return { claimed: won.length === 1, transfer: read(id, nowMs) }
    },

    reopen(id: string, approver: string): void {
      sql.exec(
        `UPDATE transfers SET status = 'pending', approved_by = NULL
         WHERE id = ? AND status = 'executing' AND approved_by = ?`,
        id,
        approver,
      )
    },

    close(id: string, nowMs: number): void {
      sql.exec(
        `UPDATE transfers SET status = 'executed', closed_at = ?
         WHERE id = ? AND status = 'executing'`,
        iso(nowMs),
        id,
      )
    },
  }
}
