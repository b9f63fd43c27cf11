/**
 * Every authenticated request is metered, whatever it is: each one costs a KV write (its audit
 * entry) and a coordinator call (its place in the chain), and whoami, explain, denied requests and
 * unknown routes never reach the upstream budget (upstream/budget-gate.ts), so without this one
 * member could spend the audit log's daily KV writes for every team (docs/operators.md, "Budget and quotas").
 * The policy's `limits.member_requests_per_minute` (default 120) bounds each member; past it the
 * gateway answers its own 429 / 18440 with `retry-after` (the end of the minute), before any work.
 *
 * The count is the member's coordinator instance (coordinator/member-rate.ts says why not
 * Cloudflare's Rate Limiting binding): exact across isolates and locations. An isolate keeps it off
 * most requests' path with leases of the member's minute that grow like the budget's
 * (upstream/budget-gate.ts): the first is one request, one used up within its minute is followed
 * by one twice as large, up to a twentieth of the limit (6 at the default, at most MAX_RATE_LEASE).
 * So a member making one request costs one round trip and wastes nothing, a busy member one per 6
 * requests, and what isolates are granted and never use (lost at the minute's end) stays small. And
 * once refused it refuses the member by itself until the minute ends, counting those refusals
 * for the coordinator's summary. A token bucket in the isolate alone would not do: a member spread
 * over N isolates would get N times the rate, and no isolate could tell which refusal is the first.
 *
 * Of the refusals of a minute only the first leaves its own audit entry; the others are counted and
 * written as one `suppressed` entry naming the member, with the member's next request after that
 * minute (at most one per minute): a member's requests leave at most limit + 2 audit entries a
 * minute, whatever they send. Counts an isolate held when it was evicted are lost (memory is all it
 * has), as for anonymous floods (audit/flood-guard.ts).
 *
 * When the coordinator cannot be reached, the isolate counts the member's minute by itself (the
 * same limit, per isolate): whoami and the audit review still answer then (docs/architecture.md,
 * "The coordinator"), and a member is still held back, per isolate, rather than not at all.
 *
 * The cache holds values only, never a pending promise (issue 17): two requests of a member that
 * find no lease each ask the coordinator for their own, and each answer is added to the cache.
 */
import type { MemberRates } from '../coordinator/client'
import { mergeRefusals, type Refusals } from '../coordinator/leases'
import { ERROR_CODES } from '../lib/errors'

const MAX_RATE_LEASE = 16
const CODE = ERROR_CODES.MEMBER_RATE_EXCEEDED.code

/** The largest lease: small limits are counted one by one, large ones in twentieths. */
const rateLeaseSize = (limit: number) =>
  Math.max(1, Math.min(MAX_RATE_LEASE, Math.floor(limit / 20)))

interface MemberSlot {
  /** Granted by the coordinator and not spent yet, until `windowEndMs`. */
  remaining: number
  /** The last lease's size: the next is twice as large if it was used up within its minute. */
  size: number
  windowEndMs: number
  /** The coordinator refused the member until then: refuse here without asking. */
  refusedUntilMs: number
  /** Refusals answered here, for the coordinator's summary with the next ask. */
  unrecorded: Refusals | null
  /** Without the coordinator: this isolate's own count of the member's window. */
  local: { windowEndMs: number; used: number; refused: number }
}

export interface RateCache {
  members: Map<string, MemberSlot>
}

const caches = new WeakMap<object, RateCache>()

/** The isolate's member counts under one configuration (a new policy starts afresh). */
export function rateCacheFor(owner: object): RateCache {
  let cache = caches.get(owner)
  if (cache === undefined) {
    cache = { members: new Map() }
    caches.set(owner, cache)
  }
  return cache
}

export type RateVerdict =
  | { allowed: true; summary: Refusals | null }
  | { allowed: false; record: boolean; retryAfterMs: number; summary: Refusals | null }

const oneRefusal = (nowMs: number): Refusals => {
  const at = new Date(nowMs).toISOString()
  return { count: 1, first: at, last: at, error_codes: { [CODE]: 1 } }
}

/** The member's minute counted in this isolate alone (the coordinator could not be reached). */
function locally(slot: MemberSlot, rate: { limit: number; periodMs: number }, nowMs: number) {
  const local = slot.local
  if (nowMs >= local.windowEndMs) {
    local.windowEndMs = (Math.floor(nowMs / rate.periodMs) + 1) * rate.periodMs
    local.used = 0
    local.refused = 0
  }
  if (local.used < rate.limit) {
    local.used++
    return { allowed: true, summary: null } as const
  }
  local.refused++
  const record = local.refused === 1
  if (!record) slot.unrecorded = mergeRefusals(slot.unrecorded, oneRefusal(nowMs))
  return { allowed: false, record, retryAfterMs: local.windowEndMs - nowMs, summary: null } as const
}

/** Admits one request of `member`, or says why not; `summary`: refusals to write as one entry. */
export async function admitMember(
  rates: MemberRates,
  cache: RateCache,
  member: string,
  rate: { limit: number; periodMs: number },
  clock: () => number = Date.now,
): Promise<RateVerdict> {
  let slot = cache.members.get(member)
  if (slot === undefined) {
    slot = {
      remaining: 0,
      size: 0,
      windowEndMs: 0,
      refusedUntilMs: 0,
      unrecorded: null,
      local: { windowEndMs: 0, used: 0, refused: 0 },
    }
    cache.members.set(member, slot)
  }
  const nowMs = clock()
  if (nowMs < slot.refusedUntilMs) {
    slot.unrecorded = mergeRefusals(slot.unrecorded, oneRefusal(nowMs))
    return {
      allowed: false,
      record: false,
      retryAfterMs: slot.refusedUntilMs - nowMs,
      summary: null,
    }
  }
  if (slot.remaining > 0 && nowMs < slot.windowEndMs) {
    slot.remaining--
    return { allowed: true, summary: null }
  }
  const usedUp = slot.size > 0 && slot.remaining === 0 && nowMs < slot.windowEndMs
  const want = usedUp ? Math.min(rateLeaseSize(rate.limit), slot.size * 2) : 1
  const unrecorded = slot.unrecorded
  slot.unrecorded = null
  let answer
  try {
    answer = await rates.ask({
      member,
      limit: rate.limit,
      periodMs: rate.periodMs,
      want,
      code: CODE,
      unrecorded,
    })
  } catch (error) {
    slot.unrecorded = mergeRefusals(slot.unrecorded, unrecorded)
    console.error(`member rate of ${member} counted in this isolate alone:`, String(error))
    return locally(slot, rate, clock())
  }
  const { summary } = answer
  if (answer.granted > 0) {
    if (slot.windowEndMs === answer.windowEndMs) slot.remaining += answer.granted - 1
    else {
      slot.remaining = answer.granted - 1
      slot.windowEndMs = answer.windowEndMs
    }
    slot.size = answer.granted
    return { allowed: true, summary }
  }
  slot.remaining = 0
  slot.refusedUntilMs = Math.max(slot.refusedUntilMs, answer.windowEndMs)
  const retryAfterMs = answer.windowEndMs - clock()
  return { allowed: false, record: answer.record, retryAfterMs, summary }
}
