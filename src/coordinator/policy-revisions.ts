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
import type { Proposal } from '../control/proposal'
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
  {
    id: 2,
    description: 'proposed policy changes',
    statements: [
      `CREATE TABLE IF NOT EXISTS policy_proposals (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        author TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        record TEXT NOT NULL
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

/**
 * What a proposal or a decision on one did: `applied` (the revision is current now), `pending`
 * (it waits for a second member), or why nothing happened. `proposal`: its record after the call.
 */
export interface ProposalAnswer {
  outcome:
    'applied' | 'pending' | 'rejected' | 'stale_base' | 'unchanged' | 'closed' | 'self' | 'missing'
  proposal: Proposal | null
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

  const iso = (ms: number) => new Date(ms).toISOString()

  function readProposal(id: string, nowMs: number): Proposal | null {
    sql.exec(
      `UPDATE policy_proposals SET status = 'expired' WHERE status = 'pending' AND expires_ms <= ?`,
      nowMs,
    )
    const [row] = sql
      .exec<{ record: string; status: string }>(
        'SELECT record, status FROM policy_proposals WHERE id = ?',
        id,
      )
      .toArray()
    if (row === undefined) return null
    return { ...(JSON.parse(row.record) as Proposal), status: row.status as Proposal['status'] }
  }

  function close(proposal: Proposal, status: Proposal['status'], by: string, nowMs: number) {
    const record = { ...proposal, status, decided_by: by, decided_at: iso(nowMs) }
    sql.exec(
      'UPDATE policy_proposals SET status = ?, record = ? WHERE id = ?',
      status,
      JSON.stringify(record),
      proposal.id,
    )
    return record
  }

  /** Applies the proposal's revision on its base, or says why not (one synchronous step). */
  function applyProposal(proposal: Proposal, by: string, nowMs: number): ProposalAnswer {
    const now = head()?.revision_id ?? null
    if (now !== proposal.base) {
      return { outcome: 'stale_base', proposal: close(proposal, 'stale', by, nowMs) }
    }
    if (proposal.revision.id === now) {
      return { outcome: 'unchanged', proposal: close(proposal, 'stale', by, nowMs) }
    }
    makeCurrent({ ...proposal.revision, parent: now }, now, proposal.kind)
    return { outcome: 'applied', proposal: close(proposal, 'applied', by, nowMs) }
  }

  return {
    current,

    /**
     * Files a proposal on the current revision: refused if its base is not current; applied at
     * once when it does not widen; otherwise pending.
     */
    propose(proposal: Proposal, nowMs: number): ProposalAnswer {
      const now = head()?.revision_id ?? null
      if (now !== proposal.base) return { outcome: 'stale_base', proposal: null }
      if (proposal.revision.id === now) return { outcome: 'unchanged', proposal: null }
      sql.exec(
        `INSERT INTO policy_proposals (id, status, author, expires_ms, record)
         VALUES (?, 'pending', ?, ?, ?)`,
        proposal.id,
        proposal.author,
        Date.parse(proposal.expires_at),
        JSON.stringify({ ...proposal, status: 'pending' }),
      )
      const filed = readProposal(proposal.id, nowMs)!
      if (proposal.widening.length > 0) return { outcome: 'pending', proposal: filed }
      return applyProposal(filed, proposal.author, nowMs)
    },

    /**
     * A second member's approval, which applies it exactly once (the proposal leaves `pending` in
     * the same synchronous step), or a rejection (its author may withdraw it this way). Nobody
     * approves their own proposal.
     */
    decideProposal(
      id: string,
      by: string,
      verdict: 'approve' | 'reject',
      nowMs: number,
    ): ProposalAnswer {
      const proposal = readProposal(id, nowMs)
      if (proposal === null) return { outcome: 'missing', proposal: null }
      if (proposal.status !== 'pending') return { outcome: 'closed', proposal }
      if (verdict === 'reject')
        return { outcome: 'rejected', proposal: close(proposal, 'rejected', by, nowMs) }
      if (proposal.author === by) return { outcome: 'self', proposal }
      return applyProposal(proposal, by, nowMs)
    },

    proposal: readProposal,

    /** Proposals, newest first (pending ones first of all). */
    proposals(limit: number, nowMs: number): Proposal[] {
      readProposal('', nowMs)
      return sql
        .exec<{ record: string; status: string }>(
          `SELECT record, status FROM policy_proposals
           ORDER BY status = 'pending' DESC, rowid DESC LIMIT ?`,
          limit,
        )
        .toArray()
        .map((row) => ({
          ...(JSON.parse(row.record) as Proposal),
          status: row.status as Proposal['status'],
        }))
    },

    /** The first revision, when none is current yet; otherwise the current one stands. */
    bootstrap(revision: Revision): CurrentAnswer {
      if (head() !== undefined) return current(null)
      makeCurrent({ ...revision, parent: null }, null, 'bootstrap')
      // The one caller that stored it records it: exactly one audit entry however many race.
      return { ...current(null), bootstrapped: true }
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
