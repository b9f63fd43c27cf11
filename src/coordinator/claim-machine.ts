/**
 * The exactly-once claim that parked deletes (approvals.ts) and transfer requests (transfers.ts)
 * both go through, on their own table of the account's instance:
 *
 *   pending ──claim──▶ executing ──close──▶ a closed status (executed, failed)
 *      ▲                   │
 *      └─────release───────┘  (by its claimant only: refused before it changed anything)
 *   pending ──(read or claim after expires_ms)──▶ expired
 *
 * Each transition is one SQL statement guarded by the status it leaves, so of N concurrent
 * claims exactly one gets `executing`, a release by anyone but the claimant changes nothing, and a
 * late or repeated close changes nothing. One implementation, so the two cannot drift apart.
 *
 * The table needs the columns `id`, `status`, `expires_ms`, `approved_by` and `closed_at`.
 */

/** The tables that hold claimable rows (a literal: it is written into the SQL). */
export type ClaimTable = 'approvals' | 'transfers'

export function claimMachine(sql: SqlStorage, table: ClaimTable) {
  const iso = (ms: number) => new Date(ms).toISOString()
  return {
    /** Pending rows past their expiry become `expired`: the one `id`, or every one. */
    expire(nowMs: number, id?: string): void {
      sql.exec(
        `UPDATE ${table} SET status = 'expired', closed_at = ?
         WHERE ${id === undefined ? '' : 'id = ? AND '}status = 'pending' AND expires_ms <= ?`,
        iso(nowMs),
        ...(id === undefined ? [] : [id]),
        nowMs,
      )
    },

    /** pending → executing, for exactly one caller; whether this caller won. */
    claim(id: string, approver: string): boolean {
      return (
        sql
          .exec(
            `UPDATE ${table} SET status = 'executing', approved_by = ?
             WHERE id = ? AND status = 'pending' RETURNING id`,
            approver,
            id,
          )
          .toArray().length === 1
      )
    },

    /** executing → pending, by its claimant only. */
    release(id: string, approver: string): void {
      sql.exec(
        `UPDATE ${table} SET status = 'pending', approved_by = NULL
         WHERE id = ? AND status = 'executing' AND approved_by = ?`,
        id,
        approver,
      )
    },

    /**
     * executing → `status`, once; `more` sets the table's own columns with it (approvals'
     * `outcome`). Column names come from the code, never from a request.
     */
    close(
      id: string,
      status: string,
      nowMs: number,
      more: Record<string, SqlStorageValue> = {},
    ): void {
      const columns = Object.keys(more)
      sql.exec(
        `UPDATE ${table} SET status = ?, closed_at = ?${columns.map((c) => `, ${c} = ?`).join('')}
         WHERE id = ? AND status = 'executing'`,
        status,
        iso(nowMs),
        ...columns.map((c) => more[c] ?? null),
        id,
      )
    },
  }
}
