/**
 * Keeps anonymous traffic (no authenticated principal: bad or missing keys, unknown routes, the
 * OpenAPI document) from spending the audit log's KV writes: KV's free plan allows 1000 writes a
 * day, and anyone on the Internet can send requests without a key.
 *
 * A token bucket per isolate: BURST anonymous entries at once, then one more every REFILL_MS.
 * Requests over the budget are counted, not written; the count (with the first and last time and
 * the error codes seen) is written as one `suppressed` summary entry as soon as a token is free
 * again, on the next request of any kind. So a flood costs at most one write per REFILL_MS per
 * isolate, and nothing vanishes without a trace, except the counts of an isolate that is evicted
 * before its next request (memory is all it has). Callers with a valid key are never limited here.
 */
import type { Suppressed } from './entry'

export const BURST = 10
export const REFILL_MS = 15 * 60_000

export class AnonymousBudget {
  private tokens: number
  private updatedAt: number
  private suppressed: Suppressed | undefined

  constructor(
    private readonly burst = BURST,
    private readonly refillMs = REFILL_MS,
    /** Replaceable so that tests can let time pass. */
    public clock: () => number = () => Date.now(),
  ) {
    this.tokens = burst
    this.updatedAt = clock()
  }

  private take(): boolean {
    const now = this.clock()
    const earned = Math.floor((now - this.updatedAt) / this.refillMs)
    if (earned > 0) {
      this.tokens = Math.min(this.burst, this.tokens + earned)
      this.updatedAt = this.tokens === this.burst ? now : this.updatedAt + earned * this.refillMs
    }
    if (this.tokens === 0) return false
    this.tokens--
    return true
  }

  /** May this anonymous request be written? If not, it is counted for the next summary. */
  admit(errorCodes: readonly number[]): boolean {
    if (this.take()) return true
    const at = new Date(this.clock()).toISOString()
    const summary = (this.suppressed ??= { count: 0, first: at, last: at, error_codes: {} })
    summary.count++
    summary.last = at
    for (const code of errorCodes.length > 0 ? errorCodes : [0]) {
      summary.error_codes[code] = (summary.error_codes[code] ?? 0) + 1
    }
    return false
  }

  /** The summary of what was suppressed, once a token is free to write it; then starts afresh. */
  takeSummary(): Suppressed | undefined {
    if (this.suppressed === undefined || !this.take()) return undefined
    const summary = this.suppressed
    this.suppressed = undefined
    return summary
  }

  /** A full bucket and nothing counted: for tests, which must not depend on each other's traffic. */
  reset(): void {
    this.tokens = this.burst
    this.updatedAt = this.clock()
    this.suppressed = undefined
  }

  /** Puts back a summary whose write failed, so that its count is not lost. */
  restore(summary: Suppressed): void {
    if (this.suppressed === undefined) {
      this.suppressed = summary
      return
    }
    this.suppressed.count += summary.count
    this.suppressed.first = summary.first
    for (const [code, n] of Object.entries(summary.error_codes)) {
      this.suppressed.error_codes[code] = (this.suppressed.error_codes[code] ?? 0) + n
    }
  }
}

/** The isolate's budget. */
export const anonymousBudget = new AnonymousBudget()
