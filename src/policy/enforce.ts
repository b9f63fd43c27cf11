/**
 * Applies the policy to one caller: runs the pure decision (`decide.ts`) for them, keeps the
 * deciding decision in the operation's findings (for the audit) and turns a refusal into the right
 * answer.
 *
 * Two kinds of refusal, on purpose: a certificate the caller may not *see* (the "get" decision)
 * is answered exactly as a certificate that does not exist, so ids of other teams cannot be
 * probed; a certificate the caller may see but not act on gets 403 with the reason.
 */
import type { Findings } from '../audit/record'
import type { Principal } from '../identity/principal'
import { GatewayError } from '../lib/errors'
import { deciderFor, type CertificateFacts, type Decision, type UnknownFacts } from './decide'
import type { Policy } from './document'
import type { PolicyAction } from './rules'

export interface Authorizer {
  decide(
    action: PolicyAction,
    facts: CertificateFacts | undefined,
    unknown?: UnknownFacts,
  ): Decision
  /** The account must be one of the caller's team's; otherwise it is answered as `notFound`. */
  requireAccount(accountId: string, notFound: GatewayError): void
  requireAllowed(
    found: Findings,
    action: PolicyAction,
    facts: CertificateFacts | undefined,
  ): Decision
  requireVisible(found: Findings, facts: CertificateFacts): void
  /**
   * Refuses before the associations are fetched when no value of them could change a "deny": a
   * refusal then costs no call on the shared upstream budget.
   */
  refuseEarly(found: Findings, action: 'delete' | 'approve', facts: CertificateFacts): void
}

export function authorizer(
  principal: Principal,
  policy: Policy,
  now: () => Date = () => new Date(),
): Authorizer {
  const { memberId, teamId, roles } = principal
  // Worked out once per caller: a list decides each of its items (certificates/operations.ts),
  // up to thousands.
  const decider = deciderFor(policy.rules, { memberId, teamId, roles })
  const self: Authorizer = {
    decide: (action, facts, unknown = 'strict') => decider(action, facts, now(), unknown),

    requireAccount(accountId, notFound) {
      const team = policy.teams.find((t) => t.id === teamId)
      if (team === undefined || !team.accounts.includes(accountId)) throw notFound
    },

    requireAllowed(found, action, facts) {
      const decision = self.decide(action, facts)
      found.decision = decision
      found.decidedOn = { roles, facts } // issue 20: what a what-if replay needs
      if (decision.effect === 'deny') {
        throw GatewayError.of('DENIED', { message: `Denied by policy: ${decision.reason}` })
      }
      return decision
    },

    requireVisible(found, facts) {
      const decision = self.decide('get', facts)
      if (decision.effect === 'deny') {
        found.decision = decision
        found.decidedOn = { roles, facts } // issue 20
        throw GatewayError.of('CERTIFICATE_NOT_FOUND')
      }
    },

    refuseEarly(found, action, facts) {
      if (self.decide(action, facts, 'optimistic').effect === 'deny') {
        self.requireAllowed(found, action, facts)
      }
    },
  }
  return self
}
