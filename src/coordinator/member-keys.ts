/**
 * Member keys without a deploy (issue 20, item 5), on the `gateway` instance beside the policy's
 * revisions. Each method is synchronous SQL with no `await`: a mint, a rotation or a revocation
 * and the keys version it bumps are one step.
 *
 * Table `member_keys`: one row per key, by the SHA-256 of the key (never the key itself), with a
 * public `key_id` (a UUID: what the API and the audit name, so a hash never leaves the coordinator),
 * the member, team and roles it authenticates as, when it was created and expires, when it was last
 * used (coarse: written at most once a minute per key), and `revoked_ms`: the instant it stops
 * working (now for a revocation, now + grace for a key replaced by a rotation).
 * Table `member_keys_version`: one row, bumped by every change. Every isolate learns it on the
 * answer its per-second policy refresh already gets (control/served-policy.ts), and drops what it
 * cached of a key under an older version: so a revocation reaches every isolate within 1 s.
 * Column `checked` (migration 2): 1 for a key that carries a check value (identity/keys.ts
 * `mintCheckedKey`). The same answer carries how many usable keys do not (`unchecked`): while
 * none does, an isolate refuses a key with a wrong check value without asking (table-keys.ts).
 */
import { schema } from './schema'

export const MEMBER_KEYS_SCHEMA = schema('member_keys', [
  {
    id: 1,
    description: 'member keys (hashes only) and their version',
    statements: [
      `CREATE TABLE IF NOT EXISTS member_keys (
        key_sha256 TEXT PRIMARY KEY,
        key_id TEXT NOT NULL UNIQUE,
        member TEXT NOT NULL,
        team TEXT NOT NULL,
        roles TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        last_used_ms INTEGER,
        revoked_ms INTEGER
      )`,
      'CREATE INDEX IF NOT EXISTS member_keys_by_team ON member_keys (team, member)',
      `CREATE TABLE IF NOT EXISTS member_keys_version (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        version INTEGER NOT NULL
      )`,
    ],
  },
  {
    id: 2,
    description:
      'which keys carry a check value (identity/keys.ts), so unchecked ones can be counted',
    statements: ['ALTER TABLE member_keys ADD COLUMN checked INTEGER NOT NULL DEFAULT 0'],
  },
])

/** How often a key's last use is written, at most. */
export const LAST_USED_STEP_MS = 60_000

/** A key as the gateway sees it: never its hash. */
export interface MemberKey {
  key_id: string
  member: string
  team: string
  roles: string[]
  created_by: string
  created_ms: number
  expires_ms: number
  last_used_ms: number | null
  /** When it stops (or stopped) working; null while it is not revoked. */
  revoked_ms: number | null
}

export interface NewKey extends Omit<MemberKey, 'last_used_ms' | 'revoked_ms'> {
  key_sha256: string
  /** The key carries a check value (identity/keys.ts); absent: a key minted before checked keys. */
  checked?: boolean
}

type Row = Omit<MemberKey, 'roles'> & {
  roles: string
  key_sha256: string
  checked: number
} & Record<string, SqlStorageValue>

const keyOf = (row: Row): MemberKey => ({
  key_id: row.key_id,
  member: row.member,
  team: row.team,
  roles: JSON.parse(row.roles) as string[],
  created_by: row.created_by,
  created_ms: row.created_ms,
  expires_ms: row.expires_ms,
  last_used_ms: row.last_used_ms,
  revoked_ms: row.revoked_ms,
})

export function memberKeyTables(sql: SqlStorage) {
  function version(): number {
    const [row] = sql
      .exec<{ version: number }>('SELECT version FROM member_keys_version WHERE one = 1')
      .toArray()
    return row?.version ?? 0
  }

  function bump(): number {
    const next = version() + 1
    sql.exec(
      `INSERT INTO member_keys_version (one, version) VALUES (1, ?)
       ON CONFLICT (one) DO UPDATE SET version = excluded.version`,
      next,
    )
    return next
  }

  const byId = (keyId: string): Row | undefined =>
    sql.exec<Row>('SELECT * FROM member_keys WHERE key_id = ?', keyId).toArray()[0]

  function insert(key: NewKey) {
    sql.exec(
      `INSERT INTO member_keys (key_sha256, key_id, member, team, roles, created_by, created_ms,
         expires_ms, checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      key.key_sha256,
      key.key_id,
      key.member,
      key.team,
      JSON.stringify(key.roles),
      key.created_by,
      key.created_ms,
      key.expires_ms,
      key.checked === true ? 1 : 0,
    )
  }

  return {
    version,

    /** How many keys that carry no check value still work at `nowMs` (see the file comment). */
    unchecked(nowMs: number): number {
      const [row] = sql
        .exec<{ n: number }>(
          `SELECT COUNT(*) AS n FROM member_keys WHERE checked = 0 AND expires_ms > ?
             AND (revoked_ms IS NULL OR revoked_ms > ?)`,
          nowMs,
          nowMs,
        )
        .toArray()
      return row?.n ?? 0
    },

    /**
     * The key with this hash, for authentication, and its last use written when the one recorded
     * is older than `LAST_USED_STEP_MS` (so a busy key costs one write a minute).
     */
    use(keySha256: string, nowMs: number): { key: MemberKey | null; version: number } {
      const [row] = sql
        .exec<Row>('SELECT * FROM member_keys WHERE key_sha256 = ?', keySha256)
        .toArray()
      if (row === undefined) return { key: null, version: version() }
      const usable = (row.revoked_ms === null || row.revoked_ms > nowMs) && row.expires_ms > nowMs
      if (usable && (row.last_used_ms === null || nowMs - row.last_used_ms >= LAST_USED_STEP_MS)) {
        sql.exec('UPDATE member_keys SET last_used_ms = ? WHERE key_sha256 = ?', nowMs, keySha256)
        row.last_used_ms = nowMs
      }
      return { key: keyOf(row), version: version() }
    },

    /** A new key. A member of another team under the same id is refused (`member_elsewhere`). */
    mint(key: NewKey): { outcome: 'minted' | 'member_elsewhere'; version: number } {
      const [other] = sql
        .exec<{ team: string }>(
          'SELECT team FROM member_keys WHERE member = ? AND team != ? LIMIT 1',
          key.member,
          key.team,
        )
        .toArray()
      if (other !== undefined) return { outcome: 'member_elsewhere', version: version() }
      insert(key)
      return { outcome: 'minted', version: bump() }
    },

    /**
     * Replaces the key `oldKeyId` of `member` with `key`: the old one stops at `nowMs + graceMs`
     * (or earlier if it was already ending). Refused when it is not the member's or not in use.
     */
    rotate(
      oldKeyId: string,
      member: string,
      key: NewKey,
      graceMs: number,
      nowMs: number,
    ): { outcome: 'rotated' | 'missing' | 'ended'; old: MemberKey | null; version: number } {
      const old = byId(oldKeyId)
      if (old === undefined || old.member !== member) {
        return { outcome: 'missing', old: null, version: version() }
      }
      if ((old.revoked_ms !== null && old.revoked_ms <= nowMs) || old.expires_ms <= nowMs) {
        return { outcome: 'ended', old: keyOf(old), version: version() }
      }
      const stops = Math.min(nowMs + graceMs, old.revoked_ms ?? Number.MAX_SAFE_INTEGER)
      sql.exec('UPDATE member_keys SET revoked_ms = ? WHERE key_id = ?', stops, oldKeyId)
      insert({
        ...key,
        member: old.member,
        team: old.team,
        roles: JSON.parse(old.roles) as string[],
      })
      return { outcome: 'rotated', old: keyOf({ ...old, revoked_ms: stops }), version: bump() }
    },

    /** Revokes a key at once (a key in its rotation's grace included). */
    revoke(keyId: string, nowMs: number): { key: MemberKey | null; version: number } {
      const row = byId(keyId)
      if (row === undefined) return { key: null, version: version() }
      if (row.revoked_ms === null || row.revoked_ms > nowMs) {
        sql.exec('UPDATE member_keys SET revoked_ms = ? WHERE key_id = ?', nowMs, keyId)
        row.revoked_ms = nowMs
      }
      return { key: keyOf(row), version: bump() }
    },

    read(keyId: string): MemberKey | null {
      const row = byId(keyId)
      return row === undefined ? null : keyOf(row)
    },

    /** A team's keys (every team's for `null`), by member then age. */
    list(team: string | null): MemberKey[] {
      const rows =
        team === null
          ? sql.exec<Row>('SELECT * FROM member_keys ORDER BY team, member, created_ms')
          : sql.exec<Row>(
              'SELECT * FROM member_keys WHERE team = ? ORDER BY member, created_ms',
              team,
            )
      return rows.toArray().map(keyOf)
    },
  }
}
