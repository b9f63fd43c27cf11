/**
 * Parking a delete that the policy gates behind a second member's approval: the delete is stored
 * as a pending approval instead of being forwarded (approve.ts executes it later).
 */
import type { ApprovalDeps, Findings } from '../kernel/operation'
import type { KnownCertificate } from '../ownership/facts'
import type { CertificateFacts, Decision } from '../policy/decide'
import { toStoredFacts, type Approval } from './store'

export interface ParkedDelete {
  approval: Approval
  /** Says what happens next: "the delete of <id> awaits approval <id> by ... until ...". */
  message: string
}

export async function park(
  deps: ApprovalDeps,
  found: Findings,
  target: { accountId: string; certificateId: string },
  facts: CertificateFacts,
  label: KnownCertificate['label'],
  gate: { ruleIds: string[]; approval: NonNullable<Decision['approval']> },
): Promise<ParkedDelete> {
  const { principal } = deps
  const now = new Date()
  const approval: Approval = {
    id: deps.approvals.newId(target.accountId),
    account_id: target.accountId,
    certificate_id: target.certificateId,
    requested_by: principal.memberId,
    requested_team: principal.teamId,
    request_id: deps.requestId,
    roles: gate.approval.roles,
    rule_ids: gate.ruleIds,
    certificate: toStoredFacts(facts, label),
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + gate.approval.ttlMinutes * 60_000).toISOString(),
    status: 'pending',
  }
  // Nothing is deleted either way; if the store cannot be reached, the request is refused (the
  // store's own 503) rather than answered with an approval that does not exist.
  await deps.approvals.put(approval)
  found.approval = { id: approval.id, requestedBy: approval.requested_by }
  const message =
    `the delete of ${approval.certificate_id} awaits approval ${approval.id} by a member with role ` +
    `${approval.roles.join(' or ')} (POST /gateway/v1/approvals/${approval.id}/approve) until ${approval.expires_at}`
  return { approval, message }
}
