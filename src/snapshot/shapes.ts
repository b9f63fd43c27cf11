/**
 * The account snapshot's shapes (issue 21), shared by the coordinator's table
 * (coordinator/snapshot.ts) and the Worker's side (snapshot/serve.ts). Types and pure helpers only.
 *
 * A certificate is kept as the upstream's own JSON text (`body`, already relayed: no private key),
 * with the fields the list filters need as columns, so that a list is filtered on the columns and
 * its answer is made of the stored texts, never a parse of the whole upstream answer per request.
 */

/** How long a certificate's associations are served from the coordinator (never for a delete). */
export const ASSOCIATIONS_TTL_MS = 10_000

/** A certificate's cached associations, and the fetch claim granted to this reader. */
export interface AssociationsView {
  body: string | null
  fetchedAtMs: number | null
  claim: string | null
}

/** One certificate of the snapshot. */
export interface SnapshotItem {
  id: string
  /** The upstream's JSON of this certificate, as relayed. */
  body: string
  /** `ca` as the upstream gave it (null when absent). */
  ca: boolean | null
  name: string | null
  /** `String(type)`: how the upstream's `type` filter compares it (emulator/src/list-filter.ts). */
  type: string
}

/** Freshness, as the policy sets it (policy/document.ts `snapshot`). */
export interface SnapshotSettings {
  /** 0: the snapshot is off, every read goes upstream. */
  maxAgeMs: number
  /** Served while the upstream fails, up to this age. */
  maxStaleMs: number
  /** How long a refresh claim holds before another reader may refresh (the upstream timeout+). */
  claimMs: number
}

export type SnapshotState = 'cold' | 'fresh' | 'stale'

/** What the coordinator answers a reader: the snapshot (or the one certificate asked for). */
export interface SnapshotView {
  state: SnapshotState
  /** Grows with every change (refresh, write-through); 0 when cold. */
  revision: number
  /** Which run of revisions: a snapshot forgotten and rebuilt starts a new one. */
  epoch: string
  /** The reader holds this very list (`epoch:revision`): `items` is empty, use the one held. */
  unchanged?: true
  fetchedAtMs: number | null
  /** The list envelope's other members (errors, messages, result_info) as JSON, when stored. */
  frame: string | null
  items: SnapshotItem[]
  /** A refresh claim granted to this reader (it lists upstream and stores the answer). */
  claim: string | null
  /** Another reader holds a live claim: a refresh is under way. */
  revalidating: boolean
}

/** What a reader that holds a whole list says it holds, and the coordinator compares. */
export const heldKey = (view: { epoch: string; revision: number }) =>
  `${view.epoch}:${view.revision}`

/** A certificate object of the upstream's answer, as an item. */
export function itemOf(certificate: { id: string } & Record<string, unknown>): SnapshotItem {
  const { ca, name, type } = certificate
  return {
    id: certificate.id,
    body: JSON.stringify(certificate),
    ca: typeof ca === 'boolean' ? ca : null,
    name: typeof name === 'string' ? name : null,
    type: String(type),
  }
}
