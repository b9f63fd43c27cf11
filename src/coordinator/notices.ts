/**
 * Expiry notices inside the coordinator (issue 23; lifecycle/watch.ts decides what is due): one
 * table per account instance. A notice is one row per (certificate, horizon, channel, kind), made
 * with INSERT OR IGNORE, so however many runs of the watch overlap or repeat, each notice exists
 * once; a run only sends what it claimed (a lease), so two runs never send the same row at once.
 *
 * Delivery state: `pending` (waiting for its `next_at`), `delivered`, or `dead` (undeliverable
 * after MAX_ATTEMPTS; it waits here, listed, until an operator re-queues it). A failed attempt
 * sets `next_at` by exponential backoff. A run that dies holding a lease loses it after LEASE_MS,
 * and the notice goes again under the same id (`webhook-id`), so a receiver can drop the repeat:
 * exactly one row, at-least-once on the wire, one per id at a receiver that deduplicates.
 *
 * Table `lifecycle_acks`: a member's acknowledgement of a notice's (certificate, horizon), once.
 */
import { z } from '@hono/zod-openapi'
import { schema } from './schema'

export const MAX_ATTEMPTS = 6
/** The policy's default `lifecycle.retry_base_seconds`, in ms. */
export const RETRY_BASE_MS = 60_000
/** 1 min, 4 min, 16 min, 64 min, 256 min between attempts (with the default base). */
export const backoffMs = (attempts: number, baseMs = RETRY_BASE_MS) =>
  baseMs * 4 ** Math.max(0, attempts - 1)
export const LEASE_MS = 120_000

export type NoticeKind = 'notice' | 'escalation' | 'platform_escalation' | 'drift'
export type NoticeState = 'pending' | 'delivered' | 'dead'

/** A notice as the watch asks for it. */
export interface NoticeAsk {
  id: string
  certificate_id: string
  horizon: string
  channel: string
  kind: NoticeKind
  team: string
  /** The message (lifecycle/channels.ts NoticeMessage), JSON. */
  message: string
}

export interface NoticeRow extends NoticeAsk {
  state: NoticeState
  attempts: number
  next_at: number
  last_reason: string | null
  created_at: number
  settled_at: number | null
}

export interface Ack {
  certificate_id: string
  horizon: string
  member: string
  at: number
}

export const NOTICES_SCHEMA = schema('notices', [
  {
    id: 1,
    description: 'expiry notices, their delivery, and acknowledgements',
    statements: [
      `CREATE TABLE IF NOT EXISTS lifecycle_notices (
        id TEXT PRIMARY KEY,
        certificate_id TEXT NOT NULL,
        horizon TEXT NOT NULL,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        team TEXT NOT NULL,
        message TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        lease_until INTEGER NOT NULL DEFAULT 0,
        last_reason TEXT,
        created_at INTEGER NOT NULL,
        settled_at INTEGER,
        UNIQUE (certificate_id, horizon, channel, kind)
      )`,
      'CREATE INDEX IF NOT EXISTS lifecycle_notices_due ON lifecycle_notices (state, next_at)',
      `CREATE TABLE IF NOT EXISTS lifecycle_acks (
        certificate_id TEXT NOT NULL,
        horizon TEXT NOT NULL,
        member TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (certificate_id, horizon)
      )`,
    ],
  },
  {
    id: 2,
    description: 'rotation pairing: a certificate and the successor its team named',
    statements: [
      `CREATE TABLE IF NOT EXISTS lifecycle_successors (
        certificate_id TEXT PRIMARY KEY,
        successor_id TEXT NOT NULL,
        services TEXT NOT NULL,
        named_by TEXT NOT NULL,
        named_at INTEGER NOT NULL
      )`,
    ],
  },
  {
    id: 3,
    description: "drift: the account's last list the watch saw",
    statements: [
      `CREATE TABLE IF NOT EXISTS lifecycle_seen (
        slot INTEGER PRIMARY KEY CHECK (slot = 1),
        list TEXT NOT NULL
      )`,
    ],
  },
  {
    id: 4,
    description: 'drift claims: each outside change recorded once, whoever saw it first',
    statements: [
      `CREATE TABLE IF NOT EXISTS lifecycle_drift (
        certificate_id TEXT NOT NULL,
        change TEXT NOT NULL CHECK (change IN ('appeared', 'vanished')),
        claimed_until INTEGER NOT NULL,
        recorded_at INTEGER,
        PRIMARY KEY (certificate_id, change)
      )`,
    ],
  },
  {
    id: 5,
    description: 'rotation pairing: what the last check of the successor found, and when',
    statements: [
      'ALTER TABLE lifecycle_successors ADD COLUMN last_check TEXT',
      'ALTER TABLE lifecycle_successors ADD COLUMN checked_at INTEGER',
    ],
  },
])

/** One outside change as a refresh or the watch saw it (lifecycle/drift.ts). */
export interface DriftKey {
  certificate_id: string
  change: 'appeared' | 'vanished'
}

/** How long a claimed change is another's to record before it may be claimed again. */
export const DRIFT_CLAIM_MS = 60_000
/**
 * How long a drift claim is kept (lifecycle_drift). Drift is found between two consecutive lists
 * (five minutes apart, or one snapshot refresh), so a change is claimed within minutes of being
 * made and never seen again after that: 90 days is far past any run that could still see it.
 * Its audit entry, not this row, is the record.
 */
export const DRIFT_KEEP_MS = 90 * 86_400_000

/**
 * What one check of a named successor found (lifecycle/rotation.ts `checkSuccessor`): ready, or
 * why not. Kept beside the pairing so that the expiring list and page can show it without
 * checking again: a check costs two upstream calls (the successor, its associations), so only the
 * expiry watch (at a horizon), the rotation gate (at a delete) and the naming itself make one.
 */
export interface SuccessorCheck {
  /** When it was checked (ms). */
  at: number
  /** Who checked: the expiry watch, the rotation gate at a delete, or the naming. */
  by: 'watch' | 'delete' | 'named'
  ready: boolean
  /** Why not: the successor is gone, has expired, or does not serve all the old one's services. */
  reason: 'missing' | 'expired' | 'not_in_use' | null
  /** `not_in_use`: the pairing's services the successor does not serve yet. */
  missing_services: string[]
  /** `expired`: when it expired. */
  expires_on?: string
}

const successorCheckSchema = z.object({
  at: z.number(),
  by: z.enum(['watch', 'delete', 'named']),
  ready: z.boolean(),
  reason: z.enum(['missing', 'expired', 'not_in_use']).nullable(),
  missing_services: z.array(z.string()),
  expires_on: z.string().optional(),
})

/** A check as stored; one that does not parse is no check (shown as never checked). */
function checkOf(stored: SqlStorageValue): SuccessorCheck | undefined {
  if (typeof stored !== 'string') return undefined
  try {
    const parsed = successorCheckSchema.safeParse(JSON.parse(stored))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** A successor named for a certificate, with the services the old one served then. */
export interface Pairing {
  certificate_id: string
  successor_id: string
  services: string[]
  named_by: string
  named_at: number
  /** The last check of the successor, if one was made since it was named. */
  check?: SuccessorCheck
}

type Row = NoticeRow & Record<string, SqlStorageValue>

const COLUMNS =
  'id, certificate_id, horizon, channel, kind, team, message, state, attempts, next_at, last_reason, created_at, settled_at'

export function noticeTables(storage: DurableObjectStorage) {
  const sql = storage.sql
  const rows = (query: string, ...bindings: SqlStorageValue[]) =>
    sql.exec<Row>(query, ...bindings).toArray() as NoticeRow[]

  return {
    /** Queues what is not queued yet; answers the ids this call created (the others existed). */
    queue(asks: NoticeAsk[], nowMs: number): string[] {
      const created: string[] = []
      storage.transactionSync(() => {
        for (const a of asks) {
          const cursor = sql.exec(
            `INSERT OR IGNORE INTO lifecycle_notices
             (id, certificate_id, horizon, channel, kind, team, message, state, next_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
            a.id,
            a.certificate_id,
            a.horizon,
            a.channel,
            a.kind,
            a.team,
            a.message,
            nowMs,
            nowMs,
          )
          if (cursor.rowsWritten > 0) created.push(a.id)
        }
      })
      return created
    },

    /** Leases up to `limit` pending notices that are due; nobody else gets them for LEASE_MS. */
    claim(limit: number, nowMs: number): NoticeRow[] {
      const due = rows(
        `SELECT ${COLUMNS} FROM lifecycle_notices
         WHERE state = 'pending' AND next_at <= ? AND lease_until <= ?
         ORDER BY next_at LIMIT ?`,
        nowMs,
        nowMs,
        limit,
      )
      for (const row of due) {
        sql.exec(
          'UPDATE lifecycle_notices SET lease_until = ? WHERE id = ?',
          nowMs + LEASE_MS,
          row.id,
        )
      }
      return due
    },

    /**
     * One attempt's result: delivered, or when to try again (`baseMs` is the policy's
     * `lifecycle.retry_base_seconds`), or dead after MAX_ATTEMPTS.
     */
    settle(
      id: string,
      result: { ok: boolean; reason?: string },
      nowMs: number,
      baseMs = RETRY_BASE_MS,
    ): NoticeRow | null {
      const [row] = rows(`SELECT ${COLUMNS} FROM lifecycle_notices WHERE id = ?`, id)
      if (row === undefined || row.state !== 'pending') return row ?? null
      const attempts = row.attempts + 1
      const state: NoticeState = result.ok
        ? 'delivered'
        : attempts >= MAX_ATTEMPTS
          ? 'dead'
          : 'pending'
      const nextAt = state === 'pending' ? nowMs + backoffMs(attempts, baseMs) : row.next_at
      sql.exec(
        `UPDATE lifecycle_notices SET state = ?, attempts = ?, next_at = ?, lease_until = 0,
         last_reason = ?, settled_at = ? WHERE id = ?`,
        state,
        attempts,
        nextAt,
        result.reason ?? null,
        state === 'pending' ? null : nowMs,
        id,
      )
      return { ...row, state, attempts, next_at: nextAt, last_reason: result.reason ?? null }
    },

    /** Every notice of the account (a team's are few: a handful per certificate). */
    list(): NoticeRow[] {
      return rows(`SELECT ${COLUMNS} FROM lifecycle_notices ORDER BY created_at, id`)
    },

    /** A dead notice back in the queue, due now, with its attempts counted afresh. */
    requeue(id: string, nowMs: number): boolean {
      return (
        sql.exec(
          `UPDATE lifecycle_notices SET state = 'pending', attempts = 0, next_at = ?, settled_at = NULL
           WHERE id = ? AND state = 'dead'`,
          nowMs,
          id,
        ).rowsWritten > 0
      )
    },

    /**
     * When the next pending notice can be sent: its `next_at`, or the end of the lease a run
     * holds on it (a run that died). Null when nothing is pending.
     */
    nextDue(): number | null {
      const [row] = sql
        .exec<{ due: number | null }>(
          `SELECT MIN(MAX(next_at, lease_until)) AS due FROM lifecycle_notices WHERE state = 'pending'`,
        )
        .toArray()
      return row?.due ?? null
    },

    /** The account this instance's notices are for (each message names it), or null. */
    accountId(): string | null {
      const [row] = sql
        .exec<{ message: string }>('SELECT message FROM lifecycle_notices LIMIT 1')
        .toArray()
      if (row === undefined) return null
      const parsed = JSON.parse(row.message) as { account_id?: unknown }
      return typeof parsed.account_id === 'string' ? parsed.account_id : null
    },

    /** Records an acknowledgement once; answers whether this one was the first. */
    acknowledge(ack: Ack): boolean {
      return (
        sql.exec(
          'INSERT OR IGNORE INTO lifecycle_acks (certificate_id, horizon, member, at) VALUES (?, ?, ?, ?)',
          ack.certificate_id,
          ack.horizon,
          ack.member,
          ack.at,
        ).rowsWritten > 0
      )
    },

    /** Names (or renames) a certificate's successor; a renaming forgets the old one's check. */
    pair(pairing: Pairing): void {
      sql.exec(
        `INSERT OR REPLACE INTO lifecycle_successors
         (certificate_id, successor_id, services, named_by, named_at, last_check, checked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        pairing.certificate_id,
        pairing.successor_id,
        JSON.stringify(pairing.services),
        pairing.named_by,
        pairing.named_at,
        pairing.check ? JSON.stringify(pairing.check) : null,
        pairing.check?.at ?? null,
      )
    },

    /**
     * Keeps what a check of the successor found, if the pairing is still the one checked (not
     * renamed meanwhile) and no later check was kept: overlapping checkers leave the newest.
     */
    recordCheck(certificateId: string, successorId: string, check: SuccessorCheck): boolean {
      return (
        sql.exec(
          `UPDATE lifecycle_successors SET last_check = ?, checked_at = ?
           WHERE certificate_id = ? AND successor_id = ? AND (checked_at IS NULL OR checked_at <= ?)`,
          JSON.stringify(check),
          check.at,
          certificateId,
          successorId,
          check.at,
        ).rowsWritten > 0
      )
    },

    pairings(): Pairing[] {
      return sql
        .exec<Record<string, SqlStorageValue>>('SELECT * FROM lifecycle_successors')
        .toArray()
        .map((row) => {
          const check = checkOf(row.last_check ?? null)
          return {
            certificate_id: String(row.certificate_id),
            successor_id: String(row.successor_id),
            services: JSON.parse(String(row.services)) as string[],
            named_by: String(row.named_by),
            named_at: Number(row.named_at),
            ...(check ? { check } : {}),
          }
        })
    },

    /** Stores the list just read and answers the one before it (JSON), in one step. */
    swapSeen(list: string): string | null {
      const [row] = sql
        .exec<{ list: string }>('SELECT list FROM lifecycle_seen WHERE slot = 1')
        .toArray()
      sql.exec('INSERT OR REPLACE INTO lifecycle_seen (slot, list) VALUES (1, ?)', list)
      return row?.list ?? null
    },

    /**
     * Claims the changes nobody recorded or is recording (a live claim): each certificate appears
     * once and vanishes once, so (certificate, change) is the change's identity, and however many
     * refreshes and watch runs see it, one is granted it. A claim not settled within
     * DRIFT_CLAIM_MS (its holder died) may be granted again.
     */
    claimDrift(keys: readonly DriftKey[], nowMs: number): DriftKey[] {
      const granted: DriftKey[] = []
      for (const key of keys) {
        const written = sql.exec(
          `INSERT INTO lifecycle_drift (certificate_id, change, claimed_until) VALUES (?, ?, ?)
           ON CONFLICT (certificate_id, change) DO UPDATE SET claimed_until = excluded.claimed_until
           WHERE lifecycle_drift.recorded_at IS NULL AND lifecycle_drift.claimed_until <= ?`,
          key.certificate_id,
          key.change,
          nowMs + DRIFT_CLAIM_MS,
          nowMs,
        ).rowsWritten
        if (written > 0) granted.push({ certificate_id: key.certificate_id, change: key.change })
      }
      return granted
    },

    /**
     * Drops the drift claims older than DRIFT_KEEP_MS: recorded ones, and abandoned ones (a holder
     * that died and nobody re-claimed); answers how many went. The watch calls it once a run.
     */
    pruneDrift(nowMs: number): number {
      const cutoff = nowMs - DRIFT_KEEP_MS
      return sql.exec(
        `DELETE FROM lifecycle_drift
         WHERE (recorded_at IS NOT NULL AND recorded_at < ?)
            OR (recorded_at IS NULL AND claimed_until < ?)`,
        cutoff,
        cutoff,
      ).rowsWritten
    },

    /** The claimed changes are on the audit chain: never granted again. */
    settleDrift(keys: readonly DriftKey[], nowMs: number): void {
      for (const key of keys) {
        sql.exec(
          'UPDATE lifecycle_drift SET recorded_at = ? WHERE certificate_id = ? AND change = ?',
          nowMs,
          key.certificate_id,
          key.change,
        )
      }
    },

    acks(): Ack[] {
      return sql
        .exec<Ack & Record<string, SqlStorageValue>>(
          'SELECT certificate_id, horizon, member, at FROM lifecycle_acks',
        )
        .toArray() as Ack[]
    },
  }
}
