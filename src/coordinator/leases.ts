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
}

export type LeaseAnswer =
  | { kind: 'lease'; granted: number; id: string; expiresMs: number }
  | { kind: 'refused'; refusal: 'budget' | 'breaker'; retryAfterMs: number }

export interface BudgetView {
  window_seconds: number
  /** The whole gateway: its cap on the token and what it has used in the window. */
  token: { cap: number; used: number; reserve: number; reserve_used: number }
  team: { share: number; used: number; available: number }
  member: { limit: number | null; used: number }
  breaker: { open: boolean; retry_after_seconds: number }
}

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
