/**
 * The account snapshot inside the account's coordinator (issue 21): one upstream list of the
 * account's certificates, kept coherent, so that reads are answered without an upstream call.
 *
 * Tables:
 *   snapshot_meta  (one row) revision, fetched_at_ms (when the list it holds was asked for: its
 *                  age is never understated), frame (the list envelope's other members), and the
 *                  refresh claim (claim, claim_until_ms)
 *   snapshot_items (id PK, position, body, ca, name, type, written_ms) the certificates in the
 *                  upstream's order, each as its JSON text, with the filters' fields as columns
 *   snapshot_gone  (id PK, at_ms) deletes written through, so that a refresh whose list was asked
 *                  for before a delete cannot bring the certificate back
 *   snapshot_associations (id PK, body, fetched_at_ms, claim, claim_until_ms) each certificate's
 *                  associations, kept `ASSOCIATIONS_TTL_MS`; one reader at a time is granted the
 *                  fetch of a missing or expired entry (the others are served the expired one, or
 *                  read upstream themselves when there is none). The in-use check before a delete
 *                  never reads it.
 *
 * Single-flight: a reader that finds the snapshot stale or cold is granted the refresh claim,
 * unless another holds a live one; the others are served the stale snapshot, marked revalidating.
 * The coordinator serialises its callers, so two readers can never both be granted it, and no
 * request ever awaits another's work. A claim lapses after `claimMs` (a reader that died).
 *
 * Write-through: `put` and `remove` apply an upload's and a delete's upstream answer at once. A
 * refresh keeps what was written through after its list was asked for (`written_ms`, `snapshot_gone`
 * at or after `listStartedMs`), so it never undoes a write it could not have seen.
 *
 * Held lists: every change bumps the revision, and the epoch (a random id minted with the meta
 * row, so again after `forget`) tells one run of revisions from another. A reader that says it
 * holds `epoch:revision` and is still current is told `unchanged` instead of being sent every item
 * again: a list of 1,000 is 1.6 MB that would otherwise cross the RPC on every read.
 */
import { schema } from './schema'
import { heldKey } from '../snapshot/shapes'
import type { SnapshotItem, SnapshotSettings, SnapshotView } from '../snapshot/shapes'

interface MetaRow extends Record<string, SqlStorageValue> {
  revision: number
  epoch: string | null
  fetched_at_ms: number | null
  frame: string | null
  claim: string | null
  claim_until_ms: number
}
interface ItemRow extends Record<string, SqlStorageValue> {
  id: string
  body: string
  ca: number | null
  name: string | null
  type: string
  written_ms: number
}

export const SNAPSHOT_SCHEMA = schema('snapshot', [
  {
    id: 1,
    description: 'the account snapshot: meta, items, deletes written through',
    statements: [
      `CREATE TABLE IF NOT EXISTS snapshot_meta (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL,
        fetched_at_ms INTEGER,
        frame TEXT,
        claim TEXT,
        claim_until_ms INTEGER NOT NULL DEFAULT 0
      )`,
      `CREATE TABLE IF NOT EXISTS snapshot_items (
        id TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        body TEXT NOT NULL,
        ca INTEGER,
        name TEXT,
        type TEXT NOT NULL,
        written_ms INTEGER NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS snapshot_items_by_position ON snapshot_items (position)',
      `CREATE TABLE IF NOT EXISTS snapshot_gone (id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS snapshot_associations (
        id TEXT PRIMARY KEY,
        body TEXT,
        fetched_at_ms INTEGER,
        claim TEXT,
        claim_until_ms INTEGER NOT NULL DEFAULT 0
      )`,
    ],
  },
  {
    id: 2,
    description: "the snapshot's epoch: a reader that holds the current list is not sent it again",
    // Filled by `meta()` on the next read: a snapshot held before has no reader holding it yet.
    statements: ['ALTER TABLE snapshot_meta ADD COLUMN epoch TEXT'],
  },
])

const toItem = (row: ItemRow): SnapshotItem => ({
  id: row.id,
  body: row.body,
  ca: row.ca === null ? null : row.ca === 1,
  name: row.name,
  type: row.type,
})

const ITEM_COLUMNS = 'id, body, ca, name, type, written_ms'

export function snapshotTable(sql: SqlStorage) {
  function meta(): MetaRow & { epoch: string } {
    const [row] = sql.exec<MetaRow>('SELECT * FROM snapshot_meta WHERE id = 1').toArray()
    const epoch = row?.epoch ?? crypto.randomUUID()
    if (row !== undefined) {
      if (row.epoch === null) sql.exec('UPDATE snapshot_meta SET epoch = ? WHERE id = 1', epoch)
      return { ...row, epoch }
    }
    sql.exec('INSERT INTO snapshot_meta (id, revision, epoch) VALUES (1, 0, ?)', epoch)
    return { revision: 0, epoch, fetched_at_ms: null, frame: null, claim: null, claim_until_ms: 0 }
  }

  const bump = () => sql.exec('UPDATE snapshot_meta SET revision = revision + 1 WHERE id = 1')

  function upsert(item: SnapshotItem, position: number, writtenMs: number) {
    sql.exec(
      `INSERT INTO snapshot_items (id, position, body, ca, name, type, written_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET body = excluded.body, ca = excluded.ca,
         name = excluded.name, type = excluded.type, written_ms = excluded.written_ms`,
      item.id,
      position,
      item.body,
      item.ca === null ? null : item.ca ? 1 : 0,
      item.name,
      item.type,
      writtenMs,
    )
  }

  function items(only: string | undefined): SnapshotItem[] {
    const rows =
      only === undefined
        ? sql.exec<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM snapshot_items ORDER BY position`)
        : sql.exec<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM snapshot_items WHERE id = ?`, only)
    return rows.toArray().map(toItem)
  }

  return {
    /**
     * The snapshot for a reader (all of it, or the one certificate `only`), granting the refresh
     * claim when it is stale or cold and nobody holds a live one. A reader of all of it that holds
     * the current list (`held`, heldKey) is told so instead of being sent the items again.
     */
    view(settings: SnapshotSettings, nowMs: number, only?: string, held?: string): SnapshotView {
      const row = meta()
      const fetched = row.fetched_at_ms
      const state =
        fetched === null ? 'cold' : nowMs - fetched < settings.maxAgeMs ? 'fresh' : 'stale'
      const claimLive = row.claim !== null && row.claim_until_ms > nowMs
      let claim: string | null = null
      if (state !== 'fresh' && !claimLive) {
        claim = crypto.randomUUID()
        sql.exec(
          'UPDATE snapshot_meta SET claim = ?, claim_until_ms = ? WHERE id = 1',
          claim,
          nowMs + settings.claimMs,
        )
      }
      const current = heldKey(row)
      // The claimant gets it all, whatever it holds: the refresh hook compares before and after.
      const unchanged = state !== 'cold' && only === undefined && claim === null && held === current
      return {
        state,
        revision: row.revision,
        epoch: row.epoch,
        fetchedAtMs: fetched,
        frame: row.frame,
        items: state === 'cold' || unchanged ? [] : items(claim !== null ? undefined : only),
        ...(unchanged ? { unchanged } : {}),
        claim,
        revalidating: state !== 'fresh' && claim === null,
      }
    },

    /**
     * Replaces the snapshot with an upstream list asked for at `listStartedMs`, keeping what was
     * written through since (file comment). A list older than the one held is ignored. Releases
     * the claim it was made under. Returns the revision now held.
     */
    store(
      claim: string | null,
      listStartedMs: number,
      frame: string,
      listed: SnapshotItem[],
    ): number {
      const row = meta()
      if (row.claim !== null && row.claim === claim) {
        sql.exec('UPDATE snapshot_meta SET claim = NULL, claim_until_ms = 0 WHERE id = 1')
      }
      if (row.fetched_at_ms !== null && row.fetched_at_ms > listStartedMs) return row.revision
      const later = sql
        .exec<ItemRow>(
          `SELECT ${ITEM_COLUMNS} FROM snapshot_items WHERE written_ms >= ? ORDER BY position`,
          listStartedMs,
        )
        .toArray()
      const gone = new Set(
        sql
          .exec<{ id: string }>('SELECT id FROM snapshot_gone WHERE at_ms >= ?', listStartedMs)
          .toArray()
          .map((r) => r.id),
      )
      const written = new Map(later.map((r) => [r.id, r]))
      sql.exec('DELETE FROM snapshot_items')
      let position = 0
      for (const item of listed) {
        if (gone.has(item.id)) continue
        const newer = written.get(item.id)
        if (newer !== undefined) {
          upsert(toItem(newer), position++, newer.written_ms)
          written.delete(item.id)
        } else upsert(item, position++, 0)
      }
      for (const newer of written.values()) upsert(toItem(newer), position++, newer.written_ms)
      sql.exec('DELETE FROM snapshot_gone WHERE at_ms < ?', listStartedMs)
      sql.exec(
        'UPDATE snapshot_meta SET revision = revision + 1, fetched_at_ms = ?, frame = ? WHERE id = 1',
        listStartedMs,
        frame,
      )
      return row.revision + 1
    },

    /** An upload's (or a fresh read's) answer written through; nothing while cold. */
    put(item: SnapshotItem, nowMs: number): number {
      const row = meta()
      if (row.fetched_at_ms === null) return row.revision
      const [at] = sql
        .exec<{
          position: number | null
        }>(
          'SELECT COALESCE((SELECT position FROM snapshot_items WHERE id = ?), (SELECT MAX(position) + 1 FROM snapshot_items), 0) AS position',
          item.id,
        )
        .toArray()
      upsert(item, at?.position ?? 0, nowMs)
      sql.exec('DELETE FROM snapshot_gone WHERE id = ?', item.id)
      bump()
      return row.revision + 1
    },

    /** A delete written through (or a certificate the upstream says is gone); nothing while cold. */
    remove(id: string, nowMs: number): number {
      sql.exec('DELETE FROM snapshot_associations WHERE id = ?', id)
      const row = meta()
      if (row.fetched_at_ms === null) return row.revision
      sql.exec('DELETE FROM snapshot_items WHERE id = ?', id)
      sql.exec(
        `INSERT INTO snapshot_gone (id, at_ms) VALUES (?, ?)
         ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms`,
        id,
        nowMs,
      )
      bump()
      return row.revision + 1
    },

    /** A certificate's cached associations, and the fetch claim when they are missing or old. */
    associations(
      id: string,
      ttlMs: number,
      claimMs: number,
      nowMs: number,
    ): { body: string | null; fetchedAtMs: number | null; claim: string | null } {
      const [row] = sql
        .exec<{
          body: string | null
          fetched_at_ms: number | null
          claim: string | null
          claim_until_ms: number
        }>(
          'SELECT body, fetched_at_ms, claim, claim_until_ms FROM snapshot_associations WHERE id = ?',
          id,
        )
        .toArray()
      const fetchedAtMs = row?.fetched_at_ms ?? null
      const body = row?.body ?? null
      if (fetchedAtMs !== null && nowMs - fetchedAtMs < ttlMs)
        return { body, fetchedAtMs, claim: null }
      if (row !== undefined && row.claim !== null && row.claim_until_ms > nowMs) {
        return { body, fetchedAtMs, claim: null }
      }
      const claim = crypto.randomUUID()
      sql.exec(
        `INSERT INTO snapshot_associations (id, claim, claim_until_ms) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET claim = excluded.claim, claim_until_ms = excluded.claim_until_ms`,
        id,
        claim,
        nowMs + claimMs,
      )
      return { body, fetchedAtMs, claim }
    },

    /** A certificate's associations as the upstream answered them at `fetchedAtMs`. */
    storeAssociations(id: string, claim: string | null, body: string, fetchedAtMs: number): void {
      sql.exec(
        `INSERT INTO snapshot_associations (id, body, fetched_at_ms, claim, claim_until_ms)
         VALUES (?, ?, ?, NULL, 0)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, fetched_at_ms = excluded.fetched_at_ms,
           claim = CASE WHEN snapshot_associations.claim = ? THEN NULL ELSE snapshot_associations.claim END
         WHERE snapshot_associations.fetched_at_ms IS NULL OR snapshot_associations.fetched_at_ms <= excluded.fetched_at_ms`,
        id,
        body,
        fetchedAtMs,
        claim,
      )
    },

    /** Tests: back to cold. */
    forget(): void {
      sql.exec('DELETE FROM snapshot_associations')
      sql.exec('DELETE FROM snapshot_items')
      sql.exec('DELETE FROM snapshot_gone')
      sql.exec('DELETE FROM snapshot_meta')
    },
  }
}
