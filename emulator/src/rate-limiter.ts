/**
 * Owns: the upstream's per-token request budget (contract §5): `requests_per_window` requests per
 * `window_seconds`; the request that goes over starts a `block_seconds` block during which every
 * call with that token is answered 429 with `retry-after` (seconds, rounded up). Every counted
 * answer says what is left, in one of the two forms Cloudflare's pages describe, chosen with
 * `PUT /__emulator/rate-limit-headers` (reset restores the first):
 *   - `x-ratelimit` (the default, as the stored limits page describes): `x-ratelimit-limit` and
 *     `x-ratelimit-remaining`; 429s add `x-ratelimit-reset` (RFC 1123);
 *   - `ietf` (draft-ietf-httpapi-ratelimit-headers, as the live limits page describes):
 *     `RateLimit-Policy: "default";q=<limit>;w=<window_seconds>` and
 *     `RateLimit: "default";r=<remaining>;t=<seconds until the window or the block ends>`.
 *
 * Only authenticated API requests are counted (the limit is per user); control calls, unknown
 * routes and requests answered by an injected fault are not.
 */

import type { MiddlewareHandler } from 'hono'

import type { AppEnv } from './app-env'
import { apiErrors } from './errors'
import { getLimits } from './limits'

type Budget = { windowStart: number; count: number; blockedUntil: number }

const budgets = new Map<string, Budget>()

export const RATE_LIMIT_HEADER_FORMS = ['x-ratelimit', 'ietf'] as const
export type RateLimitHeaderForm = (typeof RATE_LIMIT_HEADER_FORMS)[number]

let headerForm: RateLimitHeaderForm = 'x-ratelimit'

export function rateLimitHeaderForm(): RateLimitHeaderForm {
  return headerForm
}

export function setRateLimitHeaderForm(form: RateLimitHeaderForm): void {
  headerForm = form
}

export type RateDecision =
  | { allowed: true; limit: number; remaining: number; resetAt: Date }
  | { allowed: false; limit: number; retryAfterSeconds: number; resetAt: Date }

export function consume(token: string, now = Date.now()): RateDecision {
  const { requests_per_window: limit, window_seconds, block_seconds } = getLimits()
  let budget = budgets.get(token)
  if (budget && now < budget.blockedUntil) return blocked(limit, budget.blockedUntil, now)
  if (!budget || budget.blockedUntil > 0 || now >= budget.windowStart + window_seconds * 1000) {
    budget = { windowStart: now, count: 0, blockedUntil: 0 }
    budgets.set(token, budget)
  }
  budget.count += 1
  if (budget.count > limit) {
    budget.blockedUntil = now + block_seconds * 1000
    return blocked(limit, budget.blockedUntil, now)
  }
  return {
    allowed: true,
    limit,
    remaining: limit - budget.count,
    resetAt: new Date(budget.windowStart + window_seconds * 1000),
  }
}

function blocked(limit: number, blockedUntil: number, now: number): RateDecision {
  return {
    allowed: false,
    limit,
    retryAfterSeconds: Math.max(1, Math.ceil((blockedUntil - now) / 1000)),
    resetAt: new Date(blockedUntil),
  }
}

export function resetRateLimiter(): void {
  budgets.clear()
  headerForm = 'x-ratelimit'
}

/** The headers that say what is left, in the chosen form. */
function rateHeaders(decision: RateDecision, now = Date.now()): Record<string, string> {
  const remaining = decision.allowed ? decision.remaining : 0
  if (headerForm === 'ietf') {
    const seconds = Math.max(0, Math.ceil((decision.resetAt.getTime() - now) / 1000))
    return {
      'ratelimit-policy': `"default";q=${decision.limit};w=${getLimits().window_seconds}`,
      ratelimit: `"default";r=${remaining};t=${seconds}`,
    }
  }
  return {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(remaining),
    ...(decision.allowed ? {} : { 'x-ratelimit-reset': decision.resetAt.toUTCString() }),
  }
}

/** Runs after `authenticate`, which guarantees the bearer token is the valid one. */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimitByToken(c, next) {
    const decision = consume(c.env.EMULATOR_API_TOKEN)
    if (!decision.allowed) {
      throw apiErrors.rateLimited({
        'retry-after': String(decision.retryAfterSeconds),
        ...rateHeaders(decision),
      })
    }
    await next()
    for (const [name, value] of Object.entries(rateHeaders(decision))) {
      c.res.headers.set(name, value)
    }
  }
}
