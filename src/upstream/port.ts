/**
 * The upstream as operations see it: one `call` per upstream request, made with the stored token
 * and settings, each attempt admitted by the token budget (budget-gate.ts), its answer relayed
 * (relay.ts) and its result checked against the request's schema (shapes.ts, result-check.ts).
 * The port counts its own calls, so the audit learns how many reached the upstream and whether
 * the upstream itself failed without anybody noting it.
 * One port per request.
 */
import type { UpstreamEnvelope } from '../lib/envelope'
import { GatewayError } from '../lib/errors'
import type { BudgetGate } from './budget-gate'
import { callUpstream, type UpstreamSettings } from './client'
import { relay } from './relay'
import type { UpstreamRequest } from './request'

/** A relayed success whose result has been checked against what its request promises. */
export interface Envelope<R> {
  success: true
  errors: UpstreamEnvelope['errors']
  messages: UpstreamEnvelope['messages']
  result: R
  result_info?: UpstreamEnvelope['result_info']
}

/** What the port counted for its request; the audit records it. */
export interface UpstreamStats {
  attempts: number
  /** The upstream itself failed (5xx, 429, timeout, unreachable, not an envelope). */
  failed: boolean
}

export interface Upstream {
  call<R>(request: UpstreamRequest<R>): Promise<Envelope<R>>
  /**
   * Issue 21 item 3: starts the budget's admission of the next call now, so that its lease (when
   * the isolate holds none) is asked beside the operation's own coordinator call, not after it.
   * The next call's first attempt takes that admission, or its refusal. A change refused before it
   * is forwarded has then spent one request of its member's budget: the error is on the side of
   * fewer upstream calls, as every lease's.
   */
  admitAhead?(): void
}

export interface UpstreamPort extends Upstream {
  readonly stats: Readonly<UpstreamStats>
}

export function upstreamPort(settings: UpstreamSettings, gate: BudgetGate): UpstreamPort {
  const stats: UpstreamStats = { attempts: 0, failed: false }
  // This request's own admission started ahead (never shared with another request).
  let ahead: Promise<void> | undefined
  return {
    stats,
    admitAhead() {
      if (ahead !== undefined) return
      ahead = gate.admit()
      // Settled by the call that takes it; unhandled until then is no failure.
      ahead.catch(() => undefined)
    },
    async call<R>(request: UpstreamRequest<R>): Promise<Envelope<R>> {
      const before = stats.attempts
      let refusedByGate = false
      try {
        const answer = await callUpstream(request, settings, {
          admit: async () => {
            try {
              const early = ahead
              ahead = undefined
              await (early ?? gate.admit())
            } catch (error) {
              refusedByGate = true
              throw error
            }
          },
          attempted: (attempts) => {
            stats.attempts = before + attempts
          },
          rateLimited: (retryAfterMs) => gate.rateLimited(retryAfterMs),
          heard: (word) => gate.heard(word),
        })
        const envelope = relay(answer)
        const result = request.result.check(envelope.result)
        if (!result.ok) {
          throw GatewayError.of('UPSTREAM_BAD_RESPONSE', {
            message: `The upstream answered HTTP ${answer.status} without the result it documents (${result.problem}); nothing was relayed`,
          })
        }
        return { ...envelope, success: true, result: result.value }
      } catch (error) {
        // The upstream's own refusals (404, 1471, ...) are answers, and so are the gateway's own
        // refusals before a call (budget, breaker); failures are the upstream's fault.
        const failure =
          error instanceof GatewayError && (error.status >= 500 || error.status === 429)
        if (failure && !refusedByGate) {
          stats.failed = true
        }
        throw error
      }
    },
  }
}
