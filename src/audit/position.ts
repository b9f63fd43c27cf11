/**
 * Where an entry stands in its chain, and what numbering it asks of the coordinator: types only,
 * in a module of their own so that the audit port (record.ts) can name them without importing the
 * chain (which imports the entry, which imports the port).
 */

/** Where an entry stands in its chain. `prev` is '' for the first entry. */
export interface ChainPosition {
  chain: string
  seq: number
  prev: string
}

/**
 * What the coordinator needs to number an entry inside another call on the same instance (issue
 * 21 item 3: an upload's intent and its entry's number in one round trip).
 */
export interface ChainAsk {
  chain: string
  kvKey: string
  head: Record<string, unknown>
  retentionMs: number
}
