/**
 * Transfer requests inside the coordinator (ownership/transfer-store.ts says what they are): one
 * table per account instance, each transition one SQL statement, so that of concurrent approvals
 * exactly one claims a request (claim-machine.ts, shared with parked deletes) and a request is
 * filed once per certificate and team.
 *
 * Table `transfers`: id, certificate_id and to_team (the one-pending-per-pair rule), status,
 * expires_ms, the filed record as JSON (immutable), approved_by and closed_at. Rows are pruned a
 * day past their expiry.
 */
import { claimMachine } from './claim-machine'
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
  // The claim, reopen, close and expiry: the approvals' own (claim-machine.ts).
  const machine = claimMachine(sql, 'transfers')

  function expireDue(nowMs: number) {
    machine.expire(nowMs)
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
      const claimed = machine.claim(id, approver)
      return { claimed, transfer: read(id, nowMs) }
    },

    reopen(id: string, approver: string): void {
      machine.release(id, approver)
    },

    close(id: string, nowMs: number): void {
      machine.close(id, 'executed', nowMs)
    },
  }
}
