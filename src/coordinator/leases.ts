/**
 * What an isolate and the token's coordinator say to each other about the budget (budget.ts
 * grants, upstream/budget-gate.ts spends): plain data, no Workers types, so the Node tools that
 * read the audit's types compile without the Durable Object's.
 */
import type { BudgetPlan } from '../policy/limits'

export interface LeaseAsk {
  team: string
  member: string
  reserveEligible: boolean
  /** Per-member limit of the member's team, or null. */
  memberLimit: number | null
  want: number
  /** The previous lease of this isolate for this member, with what it did not spend. */
  returning?: { id: string; unused: number } | undefined
  plan: BudgetPlan
  /** The latest word of the upstream this isolate heard and has not yet passed on. */
  upstream?: UpstreamWord | undefined
}

/**
 * What one upstream answer said of the token's rate limit (upstream/rate-headers.ts reads it):
 * how many requests are left, of what limit, until when. Plain numbers, times in ms since epoch.
 */
export interface UpstreamWord {
  remaining: number
  /** The limit per window, when the upstream said. */
  limit: number | null
  /** When the upstream's count starts afresh, when it said. */
  resetMs: number | null
  /** When the request it answered was sent: what was granted since is not in `remaining`. */
  sentMs: number
  /** When the answer arrived: the latest word heard is the one believed. */
  heardMs: number
}

export type LeaseAnswer =
  | { kind: 'lease'; granted: number; id: string; expiresMs: number }
  | { kind: 'refused'; refusal: 'budget' | 'breaker' | 'upstream'; retryAfterMs: number }

export interface BudgetView {
  window_seconds: number
  /** The whole gateway: its cap on the token and what it has used in the window. */
  token: { cap: number; used: number; reserve: number; reserve_used: number }
  team: { share: number; used: number; available: number }
  member: { limit: number | null; used: number }
  breaker: { open: boolean; retry_after_seconds: number }
  /**
   * The upstream's latest word on the token as the coordinator believes it now (null: none): its
   * limit, what it said was left, what of that the gateway may still grant, and for how long.
   */
  upstream: {
    limit: number | null
    remaining: number
    room: number
    reset_seconds: number
  } | null
}

/**
 * Requests of the upstream's remaining the gateway never grants (coordinator/budget.ts): room for
 * the calls already on their way when the upstream counted (leases granted before the answer's
 * request was sent and spent after it, and calls in flight). Under a small limit it is a quarter
 * of the limit at most, so that a limit of a few requests still leaves the gateway some.
 */
export const UPSTREAM_MARGIN = 16

/** How long an isolate may spend a lease: short, so a breaker or a refusal reaches it soon. */
export const LEASE_TTL_MS = 5_000

/**
 * The longest the breaker stays open, whatever the upstream's retry-after says: Cloudflare's own
 * lockout of a token is 5 minutes, so a longer retry-after (one 429 with `retry-after: 86400`
 * once stopped every team for a day) is a fault or an attack, not the lockout. Applied by the
 * isolate that heard the 429 and by the coordinator (docs/operators.md, "Budget and quotas").
 */
export const MAX_BREAKER_MS = 300_000

/**
 * How long an isolate believes its own note that the breaker is open before it asks the
 * coordinator again (upstream/budget-gate.ts): an admin's close reaches every isolate within it.
 */
export const BREAKER_RECHECK_MS = 5_000

/** Refusals counted instead of recorded one by one (the audit's `suppressed` summary). */
export interface Refusals {
  count: number
  first: string
  last: string
  error_codes: Record<string, number>
}

/** Two counts of refusals as one: the earliest first, the latest last, codes added up. */
export function mergeRefusals(a: Refusals | null, b: Refusals | null): Refusals | null {
  if (a === null) return b
  if (b === null) return a
  const codes = { ...a.error_codes }
  for (const [code, n] of Object.entries(b.error_codes)) codes[code] = (codes[code] ?? 0) + n
  return {
    count: a.count + b.count,
    first: a.first < b.first ? a.first : b.first,
    last: a.last > b.last ? a.last : b.last,
    error_codes: codes,
  }
}

/** What an isolate asks a member's instance for (coordinator/member-rate.ts). */
export interface MemberRateAsk {
  member: string
  /** Requests per period (policy `limits.member_requests_per_minute`). */
  limit: number
  periodMs: number
  want: number
  /** The gateway's code for a refusal, counted in the summary. */
  code: number
  /** What this isolate refused by itself since its last ask, not recorded one by one. */
  unrecorded: Refusals | null
}

export interface MemberRateAnswer {
  /** Requests granted to this isolate (0: refused until `windowEndMs`). */
  granted: number
  windowEndMs: number
  /** A refusal only: whether this one is recorded (the first of its window) or counted. */
  record: boolean
  /** Earlier refusals to write as one summary entry, at most one per window. */
  summary: Refusals | null
}
