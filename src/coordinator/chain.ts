/**
 * The audit's chains inside the coordinator (audit/chain.ts says what a link is): one chain per
 * instance, numbering its entries from 1 and keeping every link with the key of the entry it
 * belongs to, so that verification can say which entry is missing, moved or changed, and that the
 * newest entries are covered by the head even when nothing comes after them.
 *
 * An account's instance chains that account's entries; the instance named `gateway` those that
 * name no account. Table `audit_links`: seq (PK), the entry's KV key, its link, when it was added
 * (links older than the log's retention are pruned with their entries: verification vouches from
 * the oldest link kept).
 *
 * Appending awaits WebCrypto, so it runs under `blockConcurrencyWhile`: no other call reaches the
 * instance until the number, the link and the new head are stored. Two entries can never get one
 * number or chain to the same predecessor.
 */
import { schema } from './schema'
import { linkOf, type ChainPosition } from '../audit/chain'

export interface ChainLink {
  seq: number
  kv_key: string
  link: string
}

/** The links whose entries' keys fall in a span of the log (audit/verify.ts), and how many. */
export interface LinksInSpan {
  /** Oldest number first, at most the limit asked for; `at_ms` is when each was handed out. */
  links: (ChainLink & { at_ms: number })[]
  /** How many links the span holds in all (more than `links` when the limit cut them). */
  total: number
  /** The oldest link kept: entries before it are past what the chain can vouch for. */
  first: ChainLink | null
}

/** The module's tables, as migrations (schema.ts). */
export const CHAIN_SCHEMA = schema('chain', [
  {
    id: 1,
    description: "the audit chain's links",
    statements: [
      `CREATE TABLE IF NOT EXISTS audit_links (
        seq INTEGER PRIMARY KEY,
        kv_key TEXT NOT NULL,
        link TEXT NOT NULL,
        at_ms INTEGER NOT NULL
      )`,
      // Pruning runs on every append: by time, through an index, so it costs what it deletes.
      'CREATE INDEX IF NOT EXISTS audit_links_by_time ON audit_links (at_ms)',
    ],
  },
  {
    id: 2,
    description: "links found by their entry's key",
    statements: [
      // A range verify asks for the links of a span of KV keys (byte order, as SQLite's BINARY
      // collation compares TEXT and KV's list() sorts): through this index it reads only that span.
      'CREATE INDEX IF NOT EXISTS audit_links_by_key ON audit_links (kv_key)',
    ],
  },
])

export function chainTable(ctx: DurableObjectState) {
  const sql = ctx.storage.sql
  function head(): ChainLink | null {
    const [row] = sql
      .exec<ChainLink & Record<string, SqlStorageValue>>(
        'SELECT seq, kv_key, link FROM audit_links ORDER BY seq DESC LIMIT 1',
      )
      .toArray()
    return row ?? null
  }

  return {
    head,

    /** Numbers the entry stored under `kvKey` and links it to the chain's head. */
    append(
      chain: string,
      kvKey: string,
      entryHead: Record<string, unknown>,
      retentionMs: number,
      nowMs: number,
    ): Promise<ChainPosition> {
      return ctx.blockConcurrencyWhile(async () => {
        const last = head()
        const position = { chain, seq: (last?.seq ?? 0) + 1, prev: last?.link ?? '' }
        const link = await linkOf(position, kvKey, entryHead)
        sql.exec(
          'INSERT INTO audit_links (seq, kv_key, link, at_ms) VALUES (?, ?, ?, ?)',
          position.seq,
          kvKey,
          link,
          nowMs,
        )
        // Keep the head even past retention: numbering must go on from it.
        sql.exec(
          'DELETE FROM audit_links WHERE at_ms < ? AND seq < ?',
          nowMs - retentionMs,
          position.seq,
        )
        return position
      })
    },

    /** The links from `fromSeq` on, oldest first, at most `limit`. */
    links(fromSeq: number, limit: number): ChainLink[] {
      return sql
        .exec<ChainLink & Record<string, SqlStorageValue>>(
          'SELECT seq, kv_key, link FROM audit_links WHERE seq >= ? ORDER BY seq LIMIT ?',
          fromSeq,
          limit,
        )
        .toArray()
    },

    /**
     * The links whose KV keys lie in (`afterKey`, `upToKey`], oldest number first, at most
     * `limit`, with how many the span holds.
     */
    linksInSpan(afterKey: string, upToKey: string, limit: number): Omit<LinksInSpan, 'first'> {
      const links = sql
        .exec<ChainLink & { at_ms: number } & Record<string, SqlStorageValue>>(
          'SELECT seq, kv_key, link, at_ms FROM audit_links WHERE kv_key > ? AND kv_key <= ? ORDER BY seq LIMIT ?',
          afterKey,
          upToKey,
          limit,
        )
        .toArray()
      const total =
        links.length < limit
          ? links.length
          : sql
              .exec<{ n: number }>(
                'SELECT COUNT(*) AS n FROM audit_links WHERE kv_key > ? AND kv_key <= ?',
                afterKey,
                upToKey,
              )
              .one().n
      return { links, total }
    },

    /** The oldest link kept: verification cannot vouch for what came before it. */
    first(): ChainLink | null {
      const [row] = sql
        .exec<ChainLink & Record<string, SqlStorageValue>>(
          'SELECT seq, kv_key, link FROM audit_links ORDER BY seq LIMIT 1',
        )
        .toArray()
      return row ?? null
    },
  }
}
