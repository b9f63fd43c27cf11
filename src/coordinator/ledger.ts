/**
 * The ownership ledger inside the coordinator: which team owns which certificate of this account,
 * and the uploads in flight (intents). One instance per account, so a read after a write sees it
 * from any location (read-your-writes), and every check-and-change below is one synchronous SQL
 * step that no other request can interleave with.
 *
 * Tables:
 *   owners  (certificate_id PK, team, record JSON, ca)
 *       one row per owned certificate; a certificate with no row is unowned. `ca` is a column so
 *       that a team's CA count (its quota) is one indexed COUNT.
 *   intents (request_id PK, bundle_sha256, team, at_ms, expires_ms, record JSON, ca)
 *       written before an upload is forwarded, removed once its outcome is known. The request id
 *       is the key, so each upload owns its intent: another team uploading the same PEM neither
 *       overwrites nor clears it. A live CA intent counts against its team's CA quota, so two
 *       concurrent CA uploads cannot both pass the last free slot.
 *
 * Adoption (an upload whose owner was never written, because the Worker died or the coordinator
 * could not be reached after the upstream created the certificate) is decided here, atomically,
 * by the rule in ownership/reconcile.ts: exactly one live intent with the certificate's whole
 * bundle, whose upload was in flight when the upstream created it (intent.at_ms <= uploaded_on <=
 * intent.at_ms + upload window + CLOCK_SKEW_MS: never before the intent), and no owner yet.
 *
 * An assign (`assignWithin`) counts the new team's CA certificates in the same step as it writes,
 * so two concurrent assigns cannot both take a team's last CA slot.
 */
import { schema } from './schema'
import {
  CLOCK_SKEW_MS,
  type AdoptionCandidate,
  type Adopted,
  type IntentAdmission,
  type IntentSummary,
  type Ownership,
  type UploadIntent,
} from '../ownership/ledger'

interface OwnerRow extends Record<string, SqlStorageValue> {
  certificate_id: string
  team: string
  record: string
}
interface IntentRow extends Record<string, SqlStorageValue> {
  request_id: string
  bundle_sha256: string
  team: string
  at_ms: number
  record: string
}

/** The module's tables, as migrations (schema.ts). */
export const LEDGER_SCHEMA = schema('ledger', [
  {
    id: 1,
    description: 'owners and upload intents',
    statements: [
      `CREATE TABLE IF NOT EXISTS owners (
        certificate_id TEXT PRIMARY KEY,
        team TEXT NOT NULL,
        ca INTEGER NOT NULL DEFAULT 0,
        record TEXT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS owners_by_team ON owners (team, ca)',
      `CREATE TABLE IF NOT EXISTS intents (
        request_id TEXT PRIMARY KEY,
        bundle_sha256 TEXT NOT NULL,
        team TEXT NOT NULL,
        ca INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        record TEXT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS intents_by_bundle ON intents (bundle_sha256)',
    ],
  },
])

export function ledgerTables(sql: SqlStorage) {
  const pruneIntents = (nowMs: number) =>
    sql.exec('DELETE FROM intents WHERE expires_ms <= ?', nowMs)

  function intents(nowMs: number): IntentSummary[] {
    pruneIntents(nowMs)
    return sql
      .exec<IntentRow>('SELECT bundle_sha256, at_ms FROM intents')
      .toArray()
      .map((row) => ({ bundle_sha256: row.bundle_sha256, at_ms: row.at_ms }))
  }

  function owner(certificateId: string): Ownership | null {
    const [row] = sql
      .exec<OwnerRow>('SELECT record FROM owners WHERE certificate_id = ?', certificateId)
      .toArray()
    return row === undefined ? null : (JSON.parse(row.record) as Ownership)
  }

  function assign(certificateId: string, ownership: Ownership): void {
    sql.exec(
      `INSERT INTO owners (certificate_id, team, ca, record) VALUES (?, ?, ?, ?)
       ON CONFLICT (certificate_id) DO UPDATE SET team = excluded.team, ca = excluded.ca,
         record = excluded.record`,
      certificateId,
      ownership.team,
      ownership.ca === true ? 1 : 0,
      JSON.stringify(ownership),
    )
  }

  function caHeldBy(team: string, nowMs: number, except = ''): number {
    const [owned] = sql
      .exec<{ n: number }>(
        'SELECT COUNT(*) AS n FROM owners WHERE team = ? AND ca = 1 AND certificate_id != ?',
        team,
        except,
      )
      .toArray()
    const [inFlight] = sql
      .exec<{ n: number }>(
        'SELECT COUNT(*) AS n FROM intents WHERE team = ? AND ca = 1 AND expires_ms > ?',
        team,
        nowMs,
      )
      .toArray()
    return (owned?.n ?? 0) + (inFlight?.n ?? 0)
  }

  return {
    /** The live intents with their teams (inspection: tests). */
    liveIntents(nowMs: number): { request_id: string; team: string; ca: number }[] {
      pruneIntents(nowMs)
      return sql
        .exec<{ request_id: string; team: string; ca: number }>(
          'SELECT request_id, team, ca FROM intents',
        )
        .toArray()
    },

    /** Forgets every owner and intent of the account (tests reset between cases). */
    forget(): void {
      sql.exec('DELETE FROM owners')
      sql.exec('DELETE FROM intents')
    },

    owner,

    /** Owning team per certificate id, and the live intents' bundles (for adoption). */
    owners(nowMs: number): { owners: Map<string, string>; intents: IntentSummary[] } {
      const owners = new Map<string, string>()
      for (const row of sql.exec<OwnerRow>('SELECT certificate_id, team FROM owners')) {
        owners.set(row.certificate_id, row.team)
      }
      return { owners, intents: intents(nowMs) }
    },

    intents,

    assign,

    release(certificateId: string): void {
      sql.exec('DELETE FROM owners WHERE certificate_id = ?', certificateId)
    },

    /**
     * Assigns a certificate unless it is a CA that would take its new team past `caQuota` (null:
     * no limit, the admin's override). `used` is the team's CA count without this certificate.
     */
    assignWithin(
      certificateId: string,
      ownership: Ownership,
      caQuota: number | null,
      nowMs: number,
    ): IntentAdmission {
      const used = ownership.ca === true ? caHeldBy(ownership.team, nowMs, certificateId) : 0
      if (caQuota !== null && ownership.ca === true && used >= caQuota) {
        return { admitted: false, used }
      }
      assign(certificateId, ownership)
      return { admitted: true, used }
    },

    /**
     * Records an upload about to be forwarded. A CA upload is admitted only while its team holds
     * fewer CA certificates (owned, plus CA uploads in flight) than `caQuota`.
     */
    recordIntent(
      intent: UploadIntent,
      caQuota: number | null,
      ttlMs: number,
      nowMs: number,
    ): IntentAdmission {
      pruneIntents(nowMs)
      const used = intent.ca && caQuota !== null ? caHeldBy(intent.team, nowMs) : 0
      if (caQuota !== null && intent.ca && used >= caQuota) return { admitted: false, used }
      sql.exec(
        `INSERT INTO intents (request_id, bundle_sha256, team, ca, at_ms, expires_ms, record)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        intent.request_id,
        intent.bundle_sha256,
        intent.team,
        intent.ca ? 1 : 0,
        Date.parse(intent.at),
        nowMs + ttlMs,
        JSON.stringify(intent),
      )
      return { admitted: true, used }
    },

    clearIntent(requestId: string): void {
      sql.exec('DELETE FROM intents WHERE request_id = ?', requestId)
    },

    /** The upload's owner written and its intent cleared, in one step. */
    confirmUpload(certificateId: string, ownership: Ownership): void {
      assign(certificateId, ownership)
      sql.exec('DELETE FROM intents WHERE request_id = ?', ownership.request_id)
    },

    caHeldBy,

    /**
     * Adopts each candidate that exactly one live intent explains (see the file comment); returns
     * who now owns what. Deterministic: the same rows and candidates give the same answer.
     */
    adopt(candidates: AdoptionCandidate[], uploadWindowMs: number, nowMs: number): Adopted[] {
      pruneIntents(nowMs)
      const adopted: Adopted[] = []
      for (const candidate of candidates) {
        if (owner(candidate.id) !== null) continue
        const matches = sql
          .exec<IntentRow>(
            `SELECT request_id, record FROM intents
             WHERE bundle_sha256 = ? AND at_ms >= ? AND at_ms <= ?`,
            candidate.bundle_sha256,
            candidate.created_ms - uploadWindowMs - CLOCK_SKEW_MS,
            // Never created before its intent was written: no skew on this side.
            candidate.created_ms,
          )
          .toArray()
        if (matches.length !== 1) continue
        const intent = JSON.parse(matches[0]!.record) as UploadIntent
        const ownership: Ownership = {
          team: intent.team,
          member: intent.member,
          request_id: intent.request_id,
          assigned_at: new Date(nowMs).toISOString(),
          via: 'adopt',
          ca: intent.ca,
          expires_on: intent.expires_on,
        }
        assign(candidate.id, ownership)
        sql.exec('DELETE FROM intents WHERE request_id = ?', intent.request_id)
        adopted.push({
          certificate_id: candidate.id,
          team: intent.team,
          request_id: intent.request_id,
        })
      }
      return adopted
    },
  }
}
