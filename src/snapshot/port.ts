/**
 * The snapshot's port (issue 21): what the operations ask of the account's snapshot, over RPC to
 * the account's coordinator (coordinator/snapshot.ts). Each method is one round trip and fails
 * closed like the ledger's (503 COORDINATOR_UNAVAILABLE). A read's owners and intents come in the
 * same answer as the snapshot, so a served read costs the one round trip a read cost before.
 *
 * `writingThrough` wraps the ledger so that an upload's owner and its certificate, and a delete's
 * release and its removal, are each one step in the coordinator: no round trip is added to a write.
 */
import { GatewayError } from '../lib/errors'
import type { Coordinator } from '../coordinator/index'
import type { IntentSummary, Ledger, Ownership } from '../ownership/ledger'
import { ownershipSchema } from '../ownership/ledger'
import type { Upstream } from '../upstream/port'
import type { MtlsCertificate } from '../upstream/shapes' // issue 23
import {
  ASSOCIATIONS_TTL_MS,
  itemOf,
  type AssociationsView,
  type SnapshotItem,
  type SnapshotSettings,
  type SnapshotView,
} from './shapes'

type Namespace = DurableObjectNamespace<Coordinator>

// Issue 23 (lifecycle): what a refresh tells drift (lifecycle/drift-record.ts driftOnRefresh).
export interface RefreshedList {
  fetchedAtMs: number
  certificates: readonly MtlsCertificate[]
}
/** After a refresh: the snapshot before it (null when not held whole) and the list stored. */
export type RefreshedHook = (
  accountId: string,
  previous: RefreshedList | null,
  current: RefreshedList,
) => Promise<void>

export interface SnapshotPort {
  settings: SnapshotSettings
  /** The gateway's own upstream port: the system principal's, charged to the reserve. */
  refresher: Upstream
  /** `held`: the list this isolate holds (coordinator/snapshot.ts heldKey), not sent again. */
  list(
    accountId: string,
    held?: string,
  ): Promise<{
    owners: Map<string, string>
    intents: IntentSummary[]
    view: SnapshotView
  }>
  get(
    accountId: string,
    certificateId: string,
  ): Promise<{ owner: Ownership | null; intents: IntentSummary[]; view: SnapshotView }>
  store(
    accountId: string,
    claim: string | null,
    listStartedMs: number,
    frame: string,
    items: SnapshotItem[],
  ): Promise<number>
  /** As `get`, with the certificate's cached associations (shapes.ts ASSOCIATIONS_TTL_MS). */
  associations(
    accountId: string,
    certificateId: string,
  ): Promise<{
    owner: Ownership | null
    intents: IntentSummary[]
    view: SnapshotView
    associations: AssociationsView
  }>
  storeAssociations(
    accountId: string,
    certificateId: string,
    claim: string | null,
    body: string,
    fetchedAtMs: number,
  ): Promise<void>
  put(accountId: string, item: SnapshotItem): Promise<number>
  remove(accountId: string, certificateId: string): Promise<number>
  /** Issue 23: drift on each refresh (scopeFor sets it); absent: nothing is compared. */
  refreshed?: RefreshedHook
}

async function reaching<T>(rpc: () => Promise<T>): Promise<T> {
  try {
    return await rpc()
  } catch (error) {
    throw GatewayError.of('COORDINATOR_UNAVAILABLE', { cause: error })
  }
}

export function coordinatedSnapshot(
  namespace: Namespace,
  settings: SnapshotSettings,
  refresher: Upstream,
): SnapshotPort {
  const at = (accountId: string) => namespace.get(namespace.idFromName(accountId))
  return {
    settings,
    refresher,
    list: (accountId, held) =>
      reaching(() => at(accountId).snapshotList(settings, Date.now(), held)),
    async get(accountId, certificateId) {
      const answer = await reaching(() =>
        at(accountId).snapshotGet(certificateId, settings, Date.now()),
      )
      // A record that does not parse is no record (as coordinatedLedger.owner): fails closed.
      const parsed = answer.owner === null ? null : ownershipSchema.safeParse(answer.owner)
      return { ...answer, owner: parsed?.success ? parsed.data : null }
    },
    async associations(accountId, certificateId) {
      const answer = await reaching(() =>
        at(accountId).snapshotAssociations(
          certificateId,
          settings,
          ASSOCIATIONS_TTL_MS,
          Date.now(),
        ),
      )
      const parsed = answer.owner === null ? null : ownershipSchema.safeParse(answer.owner)
      return { ...answer, owner: parsed?.success ? parsed.data : null }
    },
    storeAssociations: (accountId, certificateId, claim, body, fetchedAtMs) =>
      reaching(() =>
        at(accountId).snapshotStoreAssociations(certificateId, claim, body, fetchedAtMs),
      ),
    store: (accountId, claim, listStartedMs, frame, items) =>
      reaching(() => at(accountId).snapshotStore(claim, listStartedMs, frame, items)),
    put: (accountId, item) => reaching(() => at(accountId).snapshotPut(item, Date.now())),
    remove: (accountId, certificateId) =>
      reaching(() => at(accountId).snapshotRemove(certificateId, Date.now())),
  }
}

/** The ledger, with an upload's and a delete's write-through in the same coordinator step. */
export function writingThrough(ledger: Ledger, namespace: Namespace): Ledger {
  const at = (accountId: string) => namespace.get(namespace.idFromName(accountId))
  return {
    ...ledger,
    async confirmUpload(accountId, certificateId, ownership, certificate) {
      if (certificate === undefined)
        return ledger.confirmUpload(accountId, certificateId, ownership)
      // What a list would show: the upload's answer without the upload-only `updated_at`.
      const { updated_at: _updated, ...listed } = certificate
      const item = itemOf({ ...listed, id: certificateId })
      await reaching(() =>
        at(accountId).confirmUploadStored(certificateId, ownership, item, Date.now()),
      )
    },
    async release(accountId, certificateId) {
      await reaching(() => at(accountId).releaseOwnerStored(certificateId, Date.now()))
    },
  }
}
