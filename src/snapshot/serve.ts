/**
 * Reads answered from the account snapshot (issue 21), and its refresh.
 *
 * A reader asks the account's coordinator once (port.ts) and gets the owners, the intents and the
 * snapshot (or the one certificate) in that answer. Then, by the snapshot's state:
 *   fresh                 served from it: `Cache-Status: mtls-gateway; hit; ttl=N`, `Age`
 *   stale or cold, and this reader holds the refresh claim
 *                         it lists the account upstream as the gateway (the system principal's
 *                         port: the budget's reserve, never the asking team), stores the list and
 *                         is served from it: `fwd=stale; stored` (or `fwd=uri-miss; stored`)
 *   stale, another reader refreshing
 *                         served stale, marked: `hit; ttl=-N; detail=revalidating`
 *   the refresh fails (upstream down, breaker open, budget spent)
 *                         served stale up to `max_stale`, marked `detail=upstream-unavailable`;
 *                         past it (or cold) the failure is answered, as before
 *   cold, another reader refreshing
 *                         asks the coordinator again after short waits (COLD_WAITS_MS) and is
 *                         served the snapshot once filled; still cold after them, or stale past
 *                         `max_stale` with another refreshing, the read goes upstream as before,
 *                         the caller's own (`fwd=uri-miss`)
 * `Cache-Control: no-cache` reads upstream as the caller (charged to its team) and stores what it
 * read (`fwd=request; stored`).
 *
 * The coordinator decides who refreshes (coordinator/snapshot.ts), so concurrent stale readers
 * cause one upstream list, and no request awaits another's work. Parsed certificates are kept per
 * isolate as values (the JSON text they were parsed from, and the object), never as promises.
 */
import type { Served } from '../audit/record'
import { GatewayError } from '../lib/errors'
import type { IntentSummary, Ownership } from '../ownership/ledger'
import type { Envelope, Upstream } from '../upstream/port'
import { upstreamRequests } from '../upstream/request'
import type { Association, MtlsCertificate } from '../upstream/shapes'
import type { SnapshotPort } from './port'
import {
  ASSOCIATIONS_TTL_MS,
  heldKey,
  itemOf,
  type SnapshotItem,
  type SnapshotView,
} from './shapes'

const CACHE = 'mtls-gateway'

/** A snapshot of one account, as a job reads it (readAccountSnapshot) and the refresh hook sees it. */
export interface AccountSnapshot {
  revision: number
  fetchedAtMs: number
  certificates: MtlsCertificate[]
}

// Parsed certificates by id, with the text they came from: values only (CONTRIBUTING).
const parsed = new Map<string, { body: string; value: MtlsCertificate }>()
const PARSED_MAX = 20_000

function certificateOf(item: SnapshotItem): MtlsCertificate {
  const known = parsed.get(item.id)
  if (known !== undefined && known.body === item.body) return known.value
  const value = JSON.parse(item.body) as MtlsCertificate
  if (parsed.size >= PARSED_MAX) parsed.clear()
  parsed.set(item.id, { body: item.body, value })
  return value
}

export const certificatesOf = (items: SnapshotItem[]) => items.map(certificateOf)

// The whole lists this isolate holds, by account, with the `epoch:revision` they are: values only.
// A list read says which it holds, and the coordinator sends the items only when that is no longer
// current (coordinator/snapshot.ts `view`), so an unchanged list of 1,000 does not cross the RPC.
// Bounded by items, as the parsed certificates are (PARSED_MAX): oldest account first.
const heldLists = new Map<string, { key: string; items: SnapshotItem[] }>()
const HELD_ITEMS_MAX = 20_000
let heldItems = 0

function hold(accountId: string, key: string, items: SnapshotItem[]) {
  const before = heldLists.get(accountId)
  if (before !== undefined) {
    heldItems -= before.items.length
    heldLists.delete(accountId)
  }
  if (items.length > HELD_ITEMS_MAX) return
  for (const [oldest, entry] of heldLists) {
    if (heldItems + items.length <= HELD_ITEMS_MAX) break
    heldLists.delete(oldest)
    heldItems -= entry.items.length
  }
  heldLists.set(accountId, { key, items })
  heldItems += items.length
}

/**
 * Asks the account's coordinator with `ask`, saying which list of the account this isolate holds,
 * and answers with the items in the view: those sent, or the held ones when the coordinator says
 * they are current. The held entry is taken before the call, so another request replacing it
 * meanwhile changes nothing here. A view of the whole list is held for the next ask.
 */
export async function askHolding<T extends { view: SnapshotView | null }>(
  accountId: string,
  ask: (held: string | undefined) => Promise<T>,
): Promise<T> {
  const held = heldLists.get(accountId)
  const answer = await ask(held?.key)
  const { view } = answer
  if (view === null) return answer
  if (view.unchanged === true && held !== undefined) {
    return { ...answer, view: { ...view, items: held.items } }
  }
  if (view.state !== 'cold') hold(accountId, heldKey(view), view.items)
  return answer
}

interface Frame {
  /** Their places, when the frame keeps the upstream's order (frameOf). */
  success?: boolean
  result?: unknown
  errors: Envelope<unknown>['errors']
  messages: Envelope<unknown>['messages']
  result_info?: Envelope<unknown>['result_info']
}

/**
 * Every member of the list envelope but the certificates, in the upstream's order (`result` kept
 * in its place, as null), so that an answer served from the snapshot has the bytes of the
 * upstream's: `{ ...frame, success, result }` fills the places the frame holds.
 */
const frameOf = (envelope: Frame): string => JSON.stringify({ ...envelope, result: null })

const EMPTY_FRAME: Frame = { success: true, errors: [], messages: [], result: null }

function ageOf(view: { fetchedAtMs: number | null }, nowMs: number): number {
  return view.fetchedAtMs === null ? 0 : Math.max(0, Math.floor((nowMs - view.fetchedAtMs) / 1000))
}

function hit(
  snapshot: SnapshotPort,
  view: SnapshotView,
  detail?: 'revalidating' | 'upstream-unavailable',
): Served {
  const now = Date.now()
  const fetched = view.fetchedAtMs ?? now
  const ttl = Math.floor((fetched + snapshot.settings.maxAgeMs - now) / 1000)
  const stale = detail !== undefined
  return {
    via: 'snapshot',
    revision: view.revision,
    ageSeconds: ageOf(view, now),
    ...(stale ? { stale } : {}),
    cacheStatus: `${CACHE}; hit; ttl=${stale ? Math.min(ttl, -1) : Math.max(ttl, 0)}${stale ? `; detail=${detail}` : ''}`,
  }
}

const forwarded = (how: 'stale' | 'uri-miss' | 'request', revision?: number): Served => ({
  via: 'upstream',
  ...(revision !== undefined ? { revision, ageSeconds: 0 } : {}),
  cacheStatus: `${CACHE}; fwd=${how}${revision !== undefined ? '; stored' : ''}`,
})

/** Whether a stale snapshot may still be served while the upstream fails. */
const withinMaxStale = (snapshot: SnapshotPort, view: SnapshotView) =>
  view.fetchedAtMs !== null && Date.now() - view.fetchedAtMs <= snapshot.settings.maxStaleMs

/**
 * A cold snapshot another reader is filling: ask the coordinator again after these waits (about
 * 1.5 s in all, the time an upstream list of 1,000 takes) rather than list upstream too, so that
 * concurrent readers of a cold snapshot cause one upstream list. Each wait is this request's own
 * timer and each answer its own round trip: no request awaits another's work. Past the last, or
 * when the claim lapses to this reader, it does what a reader of a cold snapshot does.
 */
export const COLD_WAITS_MS = [25, 50, 100, 200, 400, 700] as const

async function untilFilled<T extends { view: SnapshotView }>(
  first: T,
  again: () => Promise<T>,
): Promise<T> {
  let read = first
  for (const waitMs of COLD_WAITS_MS) {
    if (read.view.state !== 'cold' || read.view.claim !== null) break
    await new Promise((resolve) => setTimeout(resolve, waitMs))
    read = await again()
  }
  return read
}

interface Refreshed {
  revision: number
  fetchedAtMs: number
  items: SnapshotItem[]
  frame: Frame
}

/** Lists the account upstream through `upstream` and stores it; calls the refresh hook. */
async function refresh(
  snapshot: SnapshotPort,
  upstream: Upstream,
  accountId: string,
  claim: string | null,
  previous: SnapshotView | null,
): Promise<Refreshed> {
  const startedMs = Date.now()
  const envelope = await upstream.call(upstreamRequests.list(accountId, undefined))
  const items = envelope.result.map((certificate) => itemOf(certificate))
  const revision = await snapshot.store(accountId, claim, startedMs, frameOf(envelope), items)
  const current = { revision, fetchedAtMs: startedMs, certificates: envelope.result }
  const before =
    previous !== null && previous.fetchedAtMs !== null && previous.claim !== null
      ? {
          revision: previous.revision,
          fetchedAtMs: previous.fetchedAtMs,
          certificates: certificatesOf(previous.items),
        }
      : null
  // Issue 23 (lifecycle): drift on each refresh, recorded before the reader is answered.
  try {
    await snapshot.refreshed?.(accountId, before, current)
  } catch (error) {
    console.error('drift on refresh failed', error)
  }
  return { revision, fetchedAtMs: startedMs, items, frame: envelope }
}

export interface ListRead {
  owners: Map<string, string>
  intents: IntentSummary[]
  /** The account's certificates and the list envelope's frame; null: go upstream as before. */
  served: { certificates: MtlsCertificate[]; frame: Frame } | null
  how: Served
}

/** The whole account for a list: owners, intents and certificates in one coordinator answer. */
export async function readList(
  snapshot: SnapshotPort,
  upstream: Upstream,
  accountId: string,
  noCache: boolean,
): Promise<ListRead> {
  const ask = () => askHolding(accountId, (held) => snapshot.list(accountId, held))
  const { owners, intents, view } = noCache ? await ask() : await untilFilled(await ask(), ask)
  const answer = (items: SnapshotItem[], frame: Frame, how: Served): ListRead => ({
    owners,
    intents,
    served: { certificates: certificatesOf(items), frame },
    how,
  })
  const storedFrame = (): Frame =>
    view.frame === null ? EMPTY_FRAME : (JSON.parse(view.frame) as Frame)

  if (noCache) {
    const done = await refresh(snapshot, upstream, accountId, view.claim, view)
    return answer(done.items, done.frame, forwarded('request', done.revision))
  }
  if (view.state === 'fresh') return answer(view.items, storedFrame(), hit(snapshot, view))
  if (view.claim !== null) {
    try {
      const done = await refresh(snapshot, snapshot.refresher, accountId, view.claim, view)
      const how = forwarded(view.state === 'cold' ? 'uri-miss' : 'stale', done.revision)
      return answer(done.items, done.frame, how)
    } catch (error) {
      if (view.state === 'stale' && withinMaxStale(snapshot, view)) {
        return answer(view.items, storedFrame(), hit(snapshot, view, 'upstream-unavailable'))
      }
      throw error
    }
  }
  if (view.state === 'stale' && withinMaxStale(snapshot, view)) {
    return answer(view.items, storedFrame(), hit(snapshot, view, 'revalidating'))
  }
  return { owners, intents, served: null, how: forwarded('uri-miss') }
}

export interface OneRead {
  owner: Ownership | null
  intents: IntentSummary[]
  /** When the snapshot it was answered from was listed (null when it was not). */
  fetchedAtMs: number | null
  /** Served from the snapshot: the certificate, or null when the snapshot has no such id. */
  served: { certificate: MtlsCertificate | null } | null
  how: Served
}

/** One certificate: its owner, the intents and the certificate in one coordinator answer. */
export async function readOne(
  snapshot: SnapshotPort,
  upstream: Upstream,
  accountId: string,
  certificateId: string,
  noCache: boolean,
): Promise<OneRead> {
  const ask = () => snapshot.get(accountId, certificateId)
  const read = noCache ? await ask() : await untilFilled(await ask(), ask)
  return oneFrom(snapshot, upstream, { accountId, certificateId }, read, noCache)
}

/** `readOne` on an answer already asked for (the get's, or the associations read's). */
async function oneFrom(
  snapshot: SnapshotPort,
  upstream: Upstream,
  { accountId, certificateId }: { accountId: string; certificateId: string },
  {
    owner,
    intents,
    view,
  }: { owner: Ownership | null; intents: IntentSummary[]; view: SnapshotView },
  noCache: boolean,
): Promise<OneRead> {
  const find = (items: SnapshotItem[]) => {
    const item = items.find((i) => i.id === certificateId)
    return item === undefined ? null : certificateOf(item)
  }
  const answer = (items: SnapshotItem[], how: Served, fetchedAtMs = view.fetchedAtMs): OneRead => ({
    owner,
    intents,
    fetchedAtMs,
    served: { certificate: find(items) },
    how,
  })

  if (noCache) {
    // The caller's own read of this certificate, stored: a 404 removes it from the snapshot.
    try {
      const fetched = await upstream.call(upstreamRequests.get(accountId, certificateId))
      const revision = await snapshot.put(accountId, itemOf(fetched.result))
      return {
        owner,
        intents,
        fetchedAtMs: null,
        served: { certificate: fetched.result },
        how: forwarded('request', revision),
      }
    } catch (error) {
      if (error instanceof GatewayError && error.status === 404) {
        await snapshot.remove(accountId, certificateId)
      }
      throw error
    }
  }
  if (view.state === 'fresh') return answer(view.items, hit(snapshot, view))
  if (view.claim !== null) {
    try {
      const done = await refresh(snapshot, snapshot.refresher, accountId, view.claim, view)
      const how = forwarded(view.state === 'cold' ? 'uri-miss' : 'stale', done.revision)
      return answer(done.items, how, done.fetchedAtMs)
    } catch (error) {
      if (view.state === 'stale' && withinMaxStale(snapshot, view)) {
        return answer(view.items, hit(snapshot, view, 'upstream-unavailable'))
      }
      throw error
    }
  }
  if (view.state === 'stale' && withinMaxStale(snapshot, view)) {
    return answer(view.items, hit(snapshot, view, 'revalidating'))
  }
  return { owner, intents, fetchedAtMs: null, served: null, how: forwarded('uri-miss') }
}

/**
 * An account's snapshot for a job (system scope; issue 23's integration point): refreshed first
 * when stale or cold and nobody else is refreshing it, else as held.
 */
export async function readAccountSnapshot(
  scope: { snapshot?: SnapshotPort | undefined },
  accountId: string,
): Promise<AccountSnapshot> {
  const snapshot = scope.snapshot
  if (snapshot === undefined)
    throw new Error('the snapshot is off (policy snapshot.max_age_seconds: 0)')
  const { view } = await askHolding(accountId, (held) => snapshot.list(accountId, held))
  return accountSnapshotFrom(snapshot, accountId, view)
}

/**
 * As `readAccountSnapshot`, from a view already read (issue 23: the expiring list reads it in the
 * same round trip as the account's notices and pairings, coordinator `lifecycleView`).
 */
export async function accountSnapshotFrom(
  snapshot: SnapshotPort,
  accountId: string,
  view: SnapshotView,
): Promise<AccountSnapshot> {
  if (view.state === 'fresh' || (view.state === 'stale' && view.claim === null)) {
    return {
      revision: view.revision,
      fetchedAtMs: view.fetchedAtMs ?? Date.now(),
      certificates: certificatesOf(view.items),
    }
  }
  const done = await refresh(snapshot, snapshot.refresher, accountId, view.claim, view)
  return {
    revision: done.revision,
    fetchedAtMs: done.fetchedAtMs,
    certificates: certificatesOf(done.items),
  }
}

export interface AssociationsRead extends OneRead {
  /**
   * Answers the associations: from the cache when fresh, else `fetch` (stored for the others),
   * with how they were served (`Age`, `Cache-Status`, the audit's `served`).
   */
  associations(
    fetch: () => Promise<Envelope<Association[]>>,
  ): Promise<{ envelope: Envelope<Association[]>; how: Served }>
}

/** How cached associations were served: fresh for ASSOCIATIONS_TTL_MS, then stale. */
function associationsHit(
  fetchedAtMs: number,
  revision: number | undefined,
  stale: boolean,
): Served {
  const now = Date.now()
  const ttl = Math.floor((fetchedAtMs + ASSOCIATIONS_TTL_MS - now) / 1000)
  return {
    via: 'snapshot',
    ...(revision !== undefined ? { revision } : {}),
    ageSeconds: ageOf({ fetchedAtMs }, now),
    ...(stale ? { stale } : {}),
    cacheStatus: stale
      ? `${CACHE}; hit; ttl=${Math.min(ttl, -1)}; detail=revalidating`
      : `${CACHE}; hit; ttl=${Math.max(ttl, 0)}`,
  }
}

/**
 * A certificate's associations: its facts as `readOne` gives them, and the associations cached in
 * the account's coordinator for ASSOCIATIONS_TTL_MS, in the same round trip. One reader at a time
 * fetches a missing or expired entry (the coordinator grants the claim); the others are served the
 * expired one, or fetch for themselves when there is none. Never used before a delete.
 */
export async function readAssociations(
  snapshot: SnapshotPort,
  upstream: Upstream,
  accountId: string,
  certificateId: string,
): Promise<AssociationsRead> {
  const read = await snapshot.associations(accountId, certificateId)
  const one = await oneFrom(snapshot, upstream, { accountId, certificateId }, read, false)
  const cached = read.associations
  const revision = one.how.revision
  return {
    ...one,
    async associations(fetch) {
      const now = Date.now()
      if (cached.body !== null && cached.fetchedAtMs !== null) {
        const fresh = now - cached.fetchedAtMs < ASSOCIATIONS_TTL_MS
        if (fresh || cached.claim === null) {
          const envelope: Envelope<Association[]> = {
            success: true,
            errors: [],
            messages: [],
            result: JSON.parse(cached.body) as Association[],
          }
          return { envelope, how: associationsHit(cached.fetchedAtMs, revision, !fresh) }
        }
      }
      const startedMs = Date.now()
      const envelope = await fetch()
      const stored = cached.claim !== null
      if (stored) {
        const body = JSON.stringify(envelope.result)
        await snapshot.storeAssociations(accountId, certificateId, cached.claim, body, startedMs)
      }
      const how: Served = {
        via: 'upstream',
        cacheStatus: `${CACHE}; fwd=${cached.body === null ? 'uri-miss' : 'stale'}${stored ? '; stored' : ''}`,
      }
      return { envelope, how }
    },
  }
}
