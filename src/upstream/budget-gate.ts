/**
 * The isolate's side of the token budget: before every upstream call (retries included) the port
 * asks `admit()`, which spends one request of a lease this isolate holds for the caller, or asks
 * the coordinator for a new lease (coordinator/budget.ts decides), or refuses with 429 and the
 * gateway's own code: never the upstream's lockout. When the upstream answers 429 anyway,
 * `rateLimited` opens the breaker here at once and on the coordinator for every other isolate.
 *
 * Leases grow like a slow start: the first lease for a member is one request; a lease used up
 * before it expired is followed by one twice as large (up to MAX_LEASE), an idle member's lease
 * expires and the next starts at one again. So a member making a single request costs one
 * coordinator round trip and wastes nothing, and a member making many costs one round trip per
 * up to MAX_LEASE requests. Unused requests go back with the next lease.
 *
 * The cache lives as long as the isolate and is kept per configuration (a new policy starts
 * afresh). It holds values only, never a pending promise: an isolate serves many requests at
 * once, and a request that awaits a promise another request's I/O settles has no I/O of its own
 * pending, so the Workers runtime may cancel it as hung (a 500, error 1101; issue 17). So no
 * request waits for another's lease. One request of a member at a time *renews* the member's
 * lease (the cache notes that it is asking, as a value); a request that finds the lease spent
 * while another renews it asks the coordinator for a lease of one for itself, which it spends
 * at once and keeps to itself. The coordinator serialises all of them.
 *
 * The breaker: an upstream 429 opens it here at once, for its retry-after but at most
 * MAX_BREAKER_MS (Cloudflare's lockout is 5 minutes; the coordinator caps it too), and on the
 * coordinator. The coordinator's answers are the truth, and the isolate's note of an open breaker
 * a copy that may go stale: an admin can close the breaker on the coordinator (POST
 * /gateway/v1/budget/breaker/close). So the note is believed for BREAKER_RECHECK_MS after the
 * isolate last heard from the coordinator (or tripped it); past that, a request asks the
 * coordinator for a lease of one as if the breaker were closed, and its answer (a lease, or a
 * breaker refusal with the time left) replaces the note. A close thus reaches every isolate within
 * BREAKER_RECHECK_MS, at the cost of at most one coordinator call per member and isolate per
 * BREAKER_RECHECK_MS while the breaker is open. An answer older than what the isolate heard
 * since (a 429 that tripped it meanwhile) does not replace the newer note.
 *
 * The upstream's word: every upstream answer's rate-limit headers (rate-headers.ts) are noted here
 * (`heard`, a value: the latest heard) and passed on with the isolate's next lease ask, whoever's
 * it is, so the coordinator believes the upstream without a round trip of its own on any
 * request's path. Near the upstream's limit the coordinator grants leases of one, so every
 * request asks and the word reaches it at once; far from it, within a lease (MAX_LEASE requests
 * or LEASE_TTL_MS), which the coordinator's margin covers (coordinator/budget.ts).
 */
import { z } from '@hono/zod-openapi'
import {
  BREAKER_RECHECK_MS,
  LEASE_TTL_MS,
  MAX_BREAKER_MS,
  type BudgetView,
  type LeaseAnswer,
  type LeaseAsk,
  type UpstreamWord,
} from '../coordinator/leases'
import { GatewayError } from '../lib/errors'
import type { BudgetPlan, Limits } from '../policy/limits'

/** The coordinator's budget, as the gate sees it (coordinator/client.ts implements it over RPC). */
export interface TokenBudget {
  lease(ask: LeaseAsk): Promise<LeaseAnswer>
  trip(untilMs: number): Promise<void>
  /** Closes the breaker for every isolate; until when it was open (0: it was not). */
  close(): Promise<{ wasOpenUntilMs: number }>
  view(
    plan: BudgetPlan,
    who: { team: string; member: string; memberLimit: number | null },
  ): Promise<BudgetView>
}

export interface BudgetCaller {
  team: string
  member: string
  reserveEligible: boolean
  memberLimit: number | null
}

export const MAX_LEASE = 16
/** Without a retry-after, the breaker stays open for the upstream's whole lockout. */
export const DEFAULT_LOCKOUT_MS = 300_000

interface Lease {
  id: string
  remaining: number
  size: number
  expiresMs: number
}

/** A request of the member is renewing its lease: since when, and which request (a ticket). */
interface Renewal {
  ticket: number
  sinceMs: number
}

export interface LeaseCache {
  leases: Map<string, Lease>
  renewing: Map<string, Renewal>
  breakerUntilMs: number
  /** When this isolate last heard the breaker's state (from the coordinator, or a 429 of its own). */
  breakerHeardMs: number
  tickets: number
  /** The upstream's latest word this isolate heard, and whether the coordinator has it yet. */
  word: UpstreamWord | null
  wordPassedOn: boolean
}

const caches = new WeakMap<object, LeaseCache>()

/** The isolate's leases under one configuration. */
export function leaseCacheFor(owner: object): LeaseCache {
  let cache = caches.get(owner)
  if (cache === undefined) {
    cache = {
      leases: new Map(),
      renewing: new Map(),
      breakerUntilMs: 0,
      breakerHeardMs: 0,
      tickets: 0,
      word: null,
      wordPassedOn: true,
    }
    caches.set(owner, cache)
  }
  return cache
}

const seconds = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)))

function breakerOpen(untilMs: number, nowMs: number): GatewayError {
  return GatewayError.of('BREAKER_OPEN', { headers: { 'retry-after': seconds(untilMs - nowMs) } })
}

export interface BudgetGate {
  /** Spends one request of the caller's budget, or throws (budget spent, breaker open, coordinator down). */
  admit(): Promise<void>
  /** The upstream answered 429: hold every isolate until `retryAfterMs` (capped) has passed. */
  rateLimited(retryAfterMs: number | undefined): Promise<void>
  /** An upstream answer's word on the token's rate limit: passed on with the next lease ask. */
  heard(word: UpstreamWord): void
}

/** Keeps `word` in the isolate's cache if it is the latest heard. */
export function noteWord(cache: LeaseCache, word: UpstreamWord): void {
  if (cache.word !== null && cache.word.heardMs > word.heardMs) return
  cache.word = word
  cache.wordPassedOn = false
}

export function budgetGate(
  budget: TokenBudget,
  plan: BudgetPlan,
  caller: BudgetCaller,
  cache: LeaseCache,
): BudgetGate {
  const key = `${caller.team}\u0000${caller.member}`

  /** What the coordinator said of the breaker at `askedMs`, unless the isolate heard since. */
  function heard(untilMs: number, askedMs: number) {
    if (cache.breakerHeardMs > askedMs) return
    cache.breakerUntilMs = untilMs
    cache.breakerHeardMs = askedMs
  }

  /** One lease from the coordinator; throws its refusal. */
  async function ask(want: number, returning: LeaseAsk['returning']) {
    const askedMs = Date.now()
    const word = cache.wordPassedOn ? null : cache.word
    const answer = await budget.lease({
      team: caller.team,
      member: caller.member,
      reserveEligible: caller.reserveEligible,
      memberLimit: caller.memberLimit,
      want,
      returning,
      plan,
      ...(word !== null ? { upstream: word } : {}),
    })
    // The coordinator has it (a word heard meanwhile is newer, and still to pass on).
    if (word !== null && cache.word === word) cache.wordPassedOn = true
    if (answer.kind === 'lease') {
      heard(0, askedMs)
      return answer
    }
    if (answer.refusal === 'breaker') {
      const untilMs = askedMs + Math.min(answer.retryAfterMs, MAX_BREAKER_MS)
      heard(untilMs, askedMs)
      throw breakerOpen(untilMs, Date.now())
    }
    heard(0, askedMs)
    throw GatewayError.of('BUDGET_EXHAUSTED', {
      message:
        answer.refusal === 'upstream'
          ? "The upstream says the shared token has no more requests to spare in its window; retry after the retry-after header's seconds"
          : `Team ${caller.team} has used its share of the upstream budget for now; retry after the retry-after header's seconds`,
      headers: { 'retry-after': seconds(answer.retryAfterMs) },
    })
  }

  /**
   * Asks for the member's next lease, spends one request of it for this request and leaves the
   * rest in the cache for the member's other requests, unless a later renewal took over from
   * this one (then the rest stays unspent, counted by the coordinator: fewer upstream calls,
   * never more).
   */
  async function renew(renewal: Renewal): Promise<void> {
    const previous = cache.leases.get(key)
    const usedUpInTime =
      previous !== undefined && previous.remaining === 0 && previous.expiresMs > renewal.sinceMs
    const want = usedUpInTime ? Math.min(MAX_LEASE, previous.size * 2) : 1
    const returning =
      previous !== undefined && previous.remaining > 0
        ? { id: previous.id, unused: previous.remaining }
        : undefined
    cache.leases.delete(key)
    const lease = await ask(want, returning)
    if (cache.renewing.get(key)?.ticket !== renewal.ticket) return
    cache.leases.set(key, {
      id: lease.id,
      remaining: lease.granted - 1,
      size: lease.granted,
      expiresMs: lease.expiresMs,
    })
  }

  /** Takes one request from a live lease, if this isolate holds one with any left. */
  function spend(nowMs: number): boolean {
    const lease = cache.leases.get(key)
    if (lease === undefined || lease.remaining === 0 || lease.expiresMs <= nowMs) return false
    lease.remaining -= 1
    return true
  }

  return {
    async admit() {
      const nowMs = Date.now()
      if (cache.breakerUntilMs > nowMs) {
        if (nowMs - cache.breakerHeardMs < BREAKER_RECHECK_MS) {
          throw breakerOpen(cache.breakerUntilMs, nowMs)
        }
        // The note may be stale (an admin may have closed the breaker): the coordinator decides.
        await ask(1, undefined)
        return
      }
      if (spend(nowMs)) return
      const current = cache.renewing.get(key)
      // A renewal that has not finished within a lease's life was lost (its request cancelled
      // before its `finally`): this request takes over.
      if (current !== undefined && nowMs - current.sinceMs < LEASE_TTL_MS) {
        // Another request of this member is renewing: this one asks for itself, never waits.
        await ask(1, undefined)
        return
      }
      cache.tickets += 1
      const renewal = { ticket: cache.tickets, sinceMs: nowMs }
      cache.renewing.set(key, renewal)
      try {
        await renew(renewal)
      } finally {
        if (cache.renewing.get(key)?.ticket === renewal.ticket) cache.renewing.delete(key)
      }
    },

    async rateLimited(retryAfterMs) {
      const nowMs = Date.now()
      const untilMs = nowMs + Math.min(retryAfterMs ?? DEFAULT_LOCKOUT_MS, MAX_BREAKER_MS)
      cache.breakerUntilMs = Math.max(cache.breakerUntilMs, untilMs)
      cache.breakerHeardMs = nowMs
      // The answer to this request is the upstream's 429 whether or not the others hear of it.
      await budget.trip(untilMs).catch((error: unknown) => {
        console.error('the breaker could not be opened on the coordinator', String(error))
      })
    },

    heard(word) {
      noteWord(cache, word)
    },
  }
}

/** The caller's standing in the budget (whoami): its team's share and use, its own, the breaker. */
export const budgetViewSchema = z
  .object({
    window_seconds: z.number().int(),
    token: z.object({
      cap: z.number().int(),
      used: z.number().int(),
      reserve: z.number().int(),
      reserve_used: z.number().int(),
    }),
    team: z.object({
      share: z.number().int(),
      used: z.number().int(),
      available: z.number().int(),
    }),
    member: z.object({ limit: z.number().int().nullable(), used: z.number().int() }),
    breaker: z.object({ open: z.boolean(), retry_after_seconds: z.number().int() }),
    upstream: z
      .object({
        limit: z.number().int().nullable(),
        remaining: z.number().int(),
        room: z.number().int(),
        reset_seconds: z.number().int(),
      })
      .nullable()
      .openapi({
        description:
          "The upstream's latest word on the token's rate limit (its headers): its limit, what it said was left, what of that the gateway may still grant (less a margin for calls on their way), and the seconds until its window ends. The token's cap and every share shrink to fit it. Null: the upstream has said nothing the gateway believes now.",
      }),
  })
  .openapi('BudgetStanding', {
    description:
      "Requests granted in the sliding window, leases held by isolates included (coordinator/budget.ts); cap, reserve and share as shrunk to the upstream's word",
  })

export async function budgetStanding(budget: {
  caller: BudgetCaller
  limits: Limits
  tokenBudget: TokenBudget
}): Promise<BudgetView | null> {
  const { caller, limits, tokenBudget } = budget
  try {
    return await tokenBudget.view(limits.plan, {
      team: caller.team,
      member: caller.member,
      memberLimit: caller.memberLimit,
    })
  } catch (error) {
    console.error('the budget could not be read from the coordinator', String(error))
    return null
  }
}
