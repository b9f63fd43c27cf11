/**
 * Explain: what the policy would decide for the caller, without doing anything. It must not
 * reveal more than asking would: an invisible certificate is not found, the same as for `get`.
 */
import { run, type Outcome, type OwnershipDeps } from '../kernel/operation'
import { GatewayError } from '../lib/errors'
import { associationsOf, certificateFacts } from '../ownership/facts'
import type { CertificateFacts } from './decide'
import { CERTIFICATE_ACTIONS, type PolicyAction } from './rules'

export interface Explanation {
  action: PolicyAction
  allowed: boolean
  rule_ids: string[]
  reason: string
  approval_required: { roles: string[]; ttl_minutes: number } | null
  shadow: { effect: 'allow' | 'deny'; rule_ids: string[]; reason: string } | null
}

export function explain(
  deps: OwnershipDeps,
  input: { action: PolicyAction; accountId: string; certificateId?: string; ca?: boolean },
): Promise<Outcome<Explanation>> {
  const { action, accountId, certificateId, ca } = input
  const start = { accountId, ...(certificateId !== undefined ? { certificateId } : {}) }
  return run(start, async (found) => {
    const { who } = deps
    who.requireAccount(
      accountId,
      GatewayError.of(certificateId ? 'CERTIFICATE_NOT_FOUND' : 'ACCOUNT_NOT_FOUND'),
    )
    let facts: CertificateFacts | undefined
    if (certificateId !== undefined) {
      facts = (await certificateFacts(deps, found, accountId, certificateId)).facts
      who.requireVisible(found, facts)
      if (action === 'delete' || action === 'approve') {
        const associations = await associationsOf(deps.upstream, accountId, certificateId)
        facts = { ...facts, hasAssociations: associations.length > 0 }
      }
    } else if (action === 'upload') {
      facts = {
        ownerTeam: deps.principal.teamId,
        ...(ca !== undefined ? { ca } : {}),
        hasAssociations: false,
      }
    } else if ((CERTIFICATE_ACTIONS as readonly string[]).includes(action) && action !== 'list') {
      throw GatewayError.of('INVALID_QUERY', {
        message: `explaining ${action} needs mtls_certificate_id`,
        pointer: '/mtls_certificate_id',
      })
    }
    const decision = who.decide(action, facts)
    return {
      action,
      allowed: decision.effect === 'allow',
      rule_ids: decision.ruleIds,
      reason: decision.reason,
      approval_required: decision.approval
        ? { roles: decision.approval.roles, ttl_minutes: decision.approval.ttlMinutes }
        : null,
      shadow: decision.shadow
        ? {
            effect: decision.shadow.effect,
            rule_ids: decision.shadow.ruleIds,
            reason: decision.shadow.reason,
          }
        : null,
    }
  })
}
