/**
 * The audit's sequence inside the coordinator: one counter per chain (an account's instance
 * numbers that account's entries; the instance named `gateway` numbers the entries no account is
 * named in: whoami, review queries, unauthenticated requests). Each number is handed out once, in
 * order, so a reviewer can tell from the numbers alone that an entry is missing: the log's entries
 * stay in KV, the one place that says how many there should be is here.
 */
export function sequenceTable(sql: SqlStorage) {
  sql.exec(`CREATE TABLE IF NOT EXISTS audit_sequence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
  )`)

  return {
    /** The next number, from 1. */
    next(): number {
      const [row] = sql
        .exec<{ last: number }>(
          `INSERT INTO audit_sequence (id, last) VALUES (1, 1)
           ON CONFLICT (id) DO UPDATE SET last = last + 1 RETURNING last`,
        )
        .toArray()
      return row!.last
    },

    /** The last number handed out (0 before the first). */
    last(): number {
      const [row] = sql.exec<{ last: number }>('SELECT last FROM audit_sequence').toArray()
      return row?.last ?? 0
    },
  }
}
