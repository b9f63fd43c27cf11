/**
 * Policy revisions inside the coordinator (issue 20; control/revision.ts says what a revision is),
 * on the instance named `gateway` (shard.ts `POLICY_INSTANCE`): one answer for every isolate and
 * location. Each method is synchronous SQL with no `await`, so a compare-and-set of the current
 * revision can never interleave with another caller's.
 *
 * Table `policy_revisions`: each document once, by id (the SHA-256 of its canonical JSON), with
 * who stored it first, when, why, and the revision it replaced then. Never updated or deleted.
 * Table `policy_history`: every time a revision became current, in order (`seq`): the bootstrap
 * from the POLICY secret, an applied proposal, a rollback. The current revision is the last row.
 * A rollback applies an earlier document again: its id is the same (same content), its history
 * row is new, so "which policy was current at time t" is always one row of this table.
 */
import type { CurrentAnswer, Revision } from '../control/revision'
import { schema } from './schema'

export const POLICY_REVISIONS_SCHEMA = schema('policy_revisions', [
  {
    id: 1,
    description: 'policy revisions and the history of the current one',
    statements: [
      `CREATE TABLE IF NOT EXISTS policy_revisions (
        id TEXT PRIMARY KEY,
        parent TEXT,
        author TEXT NOT NULL,
        created_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        document TEXT NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS policy_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        revision_id TEXT NOT NULL,
        previous_id TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('bootstrap', 'apply', 'rollback')),
        author TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        reason TEXT NOT NULL
      )`,
    ],
  },
])

export type HistoryKind = 'bootstrap' | 'apply' | 'rollback'

export interface HistoryRow {
  seq: number
  revision_id: string
  previous_id: string | null
  kind: HistoryKind
  author: string
  applied_at: string
  reason: string
}

/**
 * What an apply did: `applied` with its history `seq`, or `refused` (the base is no longer
 * current, or the revision already is); `current` is the current id after the call.
 */
export interface ApplyAnswer {
  outcome: 'applied' | 'stale_base' | 'unchanged'
  current: string | null
  seq: number | null
}

type RevisionRow = Revision & Record<string, SqlStorageValue>
type Row = HistoryRow & Record<string, SqlStorageValue>

export function policyRevisionTables(sql: SqlStorage) {
  const head = (): Row | undefined =>
    sql.exec<Row>('SELECT * FROM policy_history ORDER BY seq DESC LIMIT 1').toArray()[0]

  const read = (id: string): Revision | null =>
    sql.exec<RevisionRow>('SELECT * FROM policy_revisions WHERE id = ?', id).toArray()[0] ?? null

  function store(revision: Revision) {
    sql.exec(
      `INSERT INTO policy_revisions (id, parent, author, created_at, reason, document)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      revision.id,
      revision.parent,
      revision.author,
      revision.created_at,
      revision.reason,
      revision.document,
    )
  }

  function makeCurrent(revision: Revision, previous: string | null, kind: HistoryKind): number {
    store(revision)
    const [row] = sql
      .exec<{ seq: number }>(
        `INSERT INTO policy_history (revision_id, previous_id, kind, author, applied_at, reason)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`,
        revision.id,
        previous,
        kind,
        revision.author,
        revision.created_at,
        revision.reason,
      )
      .toArray()
    return row!.seq
  }

  function current(knownId: string | null): CurrentAnswer {
    const last = head()
    if (last === undefined) return { id: null, document: null }
    if (last.revision_id === knownId) return { id: knownId, document: null }
    return { id: last.revision_id, document: read(last.revision_id)!.document }
  }

  return {
    current,

    /** The first revision, when none is current yet; otherwise the current one stands. */
    bootstrap(revision: Revision): CurrentAnswer {
      if (head() === undefined) makeCurrent({ ...revision, parent: null }, null, 'bootstrap')
      return current(null)
    },

    /** Makes `revision` current if `baseId` still is (compare-and-set): at most once per base. */
    apply(revision: Revision, baseId: string, kind: 'apply' | 'rollback'): ApplyAnswer {
      const now = head()?.revision_id ?? null
      if (now !== baseId) return { outcome: 'stale_base', current: now, seq: null }
      if (revision.id === now) return { outcome: 'unchanged', current: now, seq: null }
      const seq = makeCurrent({ ...revision, parent: now }, now, kind)
      return { outcome: 'applied', current: revision.id, seq }
    },

    read,

    /** The history, newest first, `limit` rows before `beforeSeq` (paging). */
    history(limit: number, beforeSeq: number | null): HistoryRow[] {
      return sql
        .exec<Row>(
          'SELECT * FROM policy_history WHERE seq < ? ORDER BY seq DESC LIMIT ?',
          beforeSeq ?? Number.MAX_SAFE_INTEGER,
          limit,
        )
        .toArray()
        .map((row) => ({ ...row }))
    },
  }
}
