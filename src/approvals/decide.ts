/**
 * Issue 22: deciding on a parked delete with the facts, and ending one without a delete.
 *
 * - `reviewApproval`: the approval with the certificate as it is now (owner, kind, expiry, and
 *   its associations, fetched at that moment) for an approver about to decide; a certificate that
 *   no longer exists closes its pending approval (`gone`) there and then.
 * - `withdrawApproval`: its requester takes it back.
 * - `rejectApproval`: a member who could approve it refuses it, with a reason.
 *
 * Each ending is a change: on the audit record (the request's pending entry) before the store
 * moves the approval, and only a pending approval ends (the store's one atomic step), so a
 * withdraw racing an approve leaves exactly one of them done.
 */
import { run, type ApprovalDeps, type Outcome } from '../kernel/operation'
import { GatewayError } from '../lib/errors'
import { associationsOf, followingUpstream, visibleCertificate } from '../ownership/facts'
import { upstreamSaysGone } from '../upstream/relay'
import type { Association } from '../upstream/shapes'
import { concernedApproval, noteApproval } from './approve'
import { closeAsGone, end } from './ending'
import { fromStoredFacts, type Approval } from './store'

export interface ApprovalReview {
  approval: Approval
  /** The certificate now, for a pending approval; null once closed or gone. */
  current: {
    owner_team: string | null
    ca?: boolean | undefined
    expires_on?: string | undefined
    associations: Association[]
  } | null
}

export function reviewApproval(
  deps: ApprovalDeps,
  approvalId: string,
): Promise<Outcome<ApprovalReview>> {
  return run({}, async (found) => {
    const approval = await concernedApproval(deps, approvalId)
    noteApproval(found, approval)
    if (approval.status !== 'pending') return { approval, current: null }
    // Only those who act on it (the requester, an approver) fetch the certificate now: an
    // auditor reads the record as kept, and spends no upstream call.
    const { memberId, roles } = deps.principal
    const acts = approval.requested_by === memberId || roles.some((r) => approval.roles.includes(r))
    if (!acts) return { approval, current: null }
    const { account_id: accountId, certificate_id: certificateId } = approval
    try {
      const known = await visibleCertificate(deps, found, accountId, certificateId)
      const ref = { accountId, certificateId, known }
      const associations = await followingUpstream(deps, found, ref, () =>
        associationsOf(deps.upstream, accountId, certificateId),
      )
      return {
        approval,
        current: {
          owner_team: known.facts.ownerTeam,
          ca: known.facts.ca,
          expires_on: known.facts.expiresOn,
          associations,
        },
      }
    } catch (error) {
      if (!upstreamSaysGone(error)) throw error
      await closeAsGone(deps, found, approval)
      const closed = (await deps.approvals.get(approval.id)) ?? approval
      return { approval: closed, current: null }
    }
  })
}

export function withdrawApproval(
  deps: ApprovalDeps,
  approvalId: string,
  reason: string | undefined,
): Promise<Outcome<Approval>> {
  return run({}, async (found) => {
    const approval = await concernedApproval(deps, approvalId)
    noteApproval(found, approval)
    if (approval.requested_by !== deps.principal.memberId) {
      throw GatewayError.of('APPROVAL_NOT_REQUESTER')
    }
    if (reason !== undefined) found.approval = { ...found.approval!, reason }
    return end(deps, found, approval, {
      status: 'withdrawn',
      by: deps.principal.memberId,
      reason,
    })
  })
}

export function rejectApproval(
  deps: ApprovalDeps,
  approvalId: string,
  reason: string,
): Promise<Outcome<Approval>> {
  return run({}, async (found) => {
    const approval = await concernedApproval(deps, approvalId)
    noteApproval(found, approval)
    if (approval.requested_by === deps.principal.memberId) {
      throw GatewayError.of('APPROVAL_OWN_REJECT')
    }
    // Whoever could approve it may reject it: the same decision, on the certificate as parked.
    deps.who.requireAllowed(found, 'approve', fromStoredFacts(approval.certificate))
    found.approval = { ...found.approval!, reason }
    return end(deps, found, approval, { status: 'rejected', by: deps.principal.memberId, reason })
  })
}
