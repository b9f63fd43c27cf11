/**
 * Closing the breaker: an admin's way out when the upstream's 429 opened it for longer than the
 * token is really locked (or the lockout is known to be over). A change to what every team may do,
 * so it is the policy's `breaker` action with account-wide scope (only an `owner: "any"` grant
 * reaches it, as for reading the audit log), and it is on record before it is made (fail closed).
 * The coordinator closes it for every isolate; an isolate's own note of it lasts at most
 * BREAKER_RECHECK_MS more (upstream/budget-gate.ts).
 */
import { run, type AuditPort, type Outcome } from '../kernel/operation'
import type { Authorizer } from '../policy/enforce'
import type { TokenBudget } from '../upstream/budget-gate'

export interface BreakerDeps {
  who: Authorizer
  audit: AuditPort
  budget: { tokenBudget: TokenBudget }
}

export interface BreakerClosed {
  /** Whether it was open, and how many seconds it had left. */
  was_open: boolean
  remaining_seconds: number
}

/** Decided as if about a certificate of some other team: an `owner: "any"` grant only. */
const EVERY_TEAM = { ownerTeam: '(every team)' }

export function closeBreaker(deps: BreakerDeps): Promise<Outcome<BreakerClosed>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'breaker', EVERY_TEAM)
    await deps.audit.beforeChange(found)
    const { wasOpenUntilMs } = await deps.budget.tokenBudget.close()
    const remainingMs = Math.max(0, wasOpenUntilMs - Date.now())
    return { was_open: remainingMs > 0, remaining_seconds: Math.ceil(remainingMs / 1000) }
  })
}
