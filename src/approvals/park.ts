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
  /** Issue 22: why the requester asks, stored with the approval and shown to approvers. */
  reason?: string,
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
    ...(reason !== undefined && reason !== '' ? { reason } : {}),
  }
  // Nothing is deleted either way; if the store cannot be reached, the request is refused (the
  // store's own 503) rather than answered with an approval that does not exist. Issue 22: a
  // certificate has one open approval; asking again answers with it.
  const parked = await deps.approvals.parkOnce(approval)
  return described(found, parked.approval, parked.existing)
}

function described(found: Findings, approval: Approval, existing: boolean): ParkedDelete {
  found.approval = {
    id: approval.id,
    requestedBy: approval.requested_by,
    ...(approval.reason !== undefined ? { reason: approval.reason } : {}),
  }
  const message =
    (existing ? `(already requested by ${approval.requested_by}) ` : '') +
    `the delete of ${approval.certificate_id} awaits approval ${approval.id} by a member with role ` +
    `${approval.roles.join(' or ')} (POST /gateway/v1/approvals/${approval.id}/approve) until ${approval.expires_at}`
  return { approval, message }
}
