/**
 * Applies the policy to the request in hand: runs the pure decision (`decide.ts`) for the caller,
 * keeps the decision on the request's facts (for the audit trail) and turns a refusal into the
 * right answer.
 *
 * Two kinds of refusal, on purpose: a certificate the caller may not *see* (the "get" decision)
 * is answered exactly as a certificate that does not exist, so ids of other teams cannot be
 * probed; a certificate the caller may see but not act on gets 403 with the reason.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../lib/app-env'
import { GatewayError } from '../lib/errors'
import { decide, type CertificateFacts, type Decision, type UnknownFacts } from './decide'
import type { PolicyAction } from './rules'

export function decideFor(
  c: Context<AppEnv>,
  action: PolicyAction,
  facts: CertificateFacts | undefined,
  unknown: UnknownFacts = 'strict',
): Decision {
  const { memberId, teamId, roles } = c.var.principal
  const { rules } = c.var.config.policy
  return decide(rules, { memberId, teamId, roles }, action, facts, new Date(), unknown)
}

/** The account must be one of the caller's team's; otherwise it is answered as not found. */
export function requireAccount(
  c: Context<AppEnv>,
  accountId: string,
  notFound: GatewayError,
): void {
  const team = c.var.config.policy.teams.find((t) => t.id === c.var.principal.teamId)
  if (team === undefined || !team.accounts.includes(accountId)) throw notFound
}

export function requireAllowed(
  c: Context<AppEnv>,
  action: PolicyAction,
  facts: CertificateFacts | undefined,
): Decision {
  const decision = decideFor(c, action, facts)
  c.var.facts.decision = decision
  if (decision.effect === 'deny') {
    throw GatewayError.of('DENIED', { message: `Denied by policy: ${decision.reason}` })
  }
  return decision
}

export function requireVisible(c: Context<AppEnv>, facts: CertificateFacts): void {
  const decision = decideFor(c, 'get', facts)
  if (decision.effect === 'deny') {
    c.var.facts.decision = decision
    throw GatewayError.of('CERTIFICATE_NOT_FOUND')
  }
}
