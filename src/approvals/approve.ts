/**
 * Reading and approving a parked delete. Approving executes it exactly as the requester's delete
 * would have run, decided again on the certificate as it is now: it may have changed hands, or
 * gone, since the request, and the requester must still be allowed to delete it.
 */
import { run, type Findings, type Outcome } from '../kernel/operation'
import { isActive } from '../identity/authenticate'
import { GatewayError } from '../lib/errors'
import { releaseOnDelete } from '../ownership/bookkeeping'
import {
  associationsOf,
  followingUpstream,
  refuseInUse,
  visibleCertificate,
  type KnownCertificate,
} from '../ownership/facts'
import { decide, type CertificateFacts } from '../policy/decide'
import type { Envelope } from '../upstream/port'
import { upstreamRequests } from '../upstream/request'
import type { MtlsCertificate } from '../upstream/shapes'
import type { ApprovalDeps } from '../kernel/operation'
import { noteSubject } from '../audit/record'
import { mayAudit } from '../audit/review'
import { upstreamSaysGone } from '../upstream/relay'
import { closeAsGone } from './ending'
import { fromStoredFacts, type Approval } from './store'

/** The accounts of the caller's team, in the policy's order. */
const accountsOfCaller = (deps: ApprovalDeps): readonly string[] =>
  deps.policy.teams.find((team) => team.id === deps.principal.teamId)?.accounts ?? []

/**
 * Whether the caller is concerned by an approval: they requested it, or they hold one of its roles
 * and could see its certificate (decided on the certificate as it was when the delete was
 * requested, so a closed approval stays readable after the certificate is gone). For anybody else
 * it does not exist, whatever its state, so that an approval id says nothing to other teams.
 */
function concerns(deps: ApprovalDeps, approval: Approval): boolean {
  const { memberId, roles } = deps.principal
  if (approval.requested_by === memberId) return true
  // Issue 22: whoever may read the whole audit log (an auditor) sees every approval, read-only:
  // the log names them all already; approving still takes an approver's role and decision.
  if (mayAudit(deps.who)) return true
  if (!roles.some((role) => approval.roles.includes(role))) return false
  if (!accountsOfCaller(deps).includes(approval.account_id)) return false
  return deps.who.decide('get', fromStoredFacts(approval.certificate)).effect === 'allow'
}

export async function concernedApproval(deps: ApprovalDeps, approvalId: string): Promise<Approval> {
  const approval = await deps.approvals.get(approvalId)
  if (approval === null || !concerns(deps, approval)) throw GatewayError.of('APPROVAL_NOT_FOUND')
  return approval
}

export function getApproval(deps: ApprovalDeps, approvalId: string): Promise<Outcome<Approval>> {
  return run({}, () => concernedApproval(deps, approvalId))
}

export interface ApprovalPage {
  /** Pending approvals the caller is concerned by, per account, oldest first. */
  approvals: Approval[]
  /** Where the next page starts (`<account>:<position>`), null after the last. */
  cursor: string | null
}

/** Coordinator round trips per page at most: a page may come back short, with a cursor. */
const PAGE_ROUND_TRIPS = 8

/** `<account id>` or `<account id>:<position in its coordinator's list>`. */
export const APPROVAL_CURSOR = /^([0-9a-f]{32})(?::(\d{1,15}\.[0-9a-f-]{1,64}))?$/

/**
 * Every pending approval the caller is concerned by, a page at a time, from the coordinator of each
 * of their team's accounts (oldest first within an account, accounts in the policy's order). The
 * facts shown with each are those kept on its record: listing costs no upstream call, whoever
 * parked how many. A cursor whose account is not the caller's is refused as invalid.
 */
export function listPendingApprovals(
  deps: ApprovalDeps,
  input: { cursor: string | null; limit: number },
): Promise<Outcome<ApprovalPage>> {
  return run({}, async () => {
    const accounts = accountsOfCaller(deps)
    let index = 0
    let after: string | null = null
    if (input.cursor !== null) {
      const match = APPROVAL_CURSOR.exec(input.cursor)
      index = match ? accounts.indexOf(match[1]!) : -1
      if (match === null || index < 0) {
        throw GatewayError.of('INVALID_QUERY', {
          message: 'cursor is not one this gateway gave you',
          pointer: '/cursor',
        })
      }
      after = match[2] ?? null
    }
    const concerning = {
      member: deps.principal.memberId,
      roles: deps.principal.roles,
      // Issue 22: an auditor is concerned by every approval.
      everyone: mayAudit(deps.who),
    }
    const approvals: Approval[] = []
    for (let trips = 0; index < accounts.length; trips++) {
      const account = accounts[index]!
      if (approvals.length >= input.limit || trips >= PAGE_ROUND_TRIPS) {
        return { approvals, cursor: after === null ? account : `${account}:${after}` }
      }
      const page = await deps.approvals.pending(account, {
        after,
        limit: input.limit - approvals.length,
        concerning,
      })
      approvals.push(...page.approvals.filter((approval) => concerns(deps, approval)))
      if (page.next !== null) {
        after = page.next
      } else {
        index++
        after = null
      }
    }
    return { approvals, cursor: null }
  })
}

/** The requester must still be an active member, and the delete still allowed for them now. */
function requireRequesterStillAllowed(
  deps: ApprovalDeps,
  approval: Approval,
  facts: CertificateFacts,
): void {
  const { policy } = deps
  const requester = policy.members.find((m) => m.id === approval.requested_by)
  if (requester === undefined || !isActive(requester, new Date())) {
    throw GatewayError.of('DENIED', {
      message: `Denied by policy: ${approval.requested_by}, who requested this delete, is no longer an active member`,
    })
  }
  const subject = { memberId: requester.id, teamId: requester.team, roles: requester.roles }
  const decision = decide(policy.rules, subject, 'delete', facts, new Date())
  if (decision.effect === 'deny') {
    throw GatewayError.of('DENIED', {
      message: `Denied by policy: the delete is no longer allowed for ${requester.id}: ${decision.reason}`,
    })
  }
}

/**
 * Issue 22: notes the approval and its certificate as parked; nobody has approved anything yet
 * (the approver is named once the delete goes ahead).
 */
export function noteApproval(found: Findings, approval: Approval): void {
  found.accountId = approval.account_id
  found.certificateId = approval.certificate_id
  found.approval = { id: approval.id, requestedBy: approval.requested_by }
  const stored = approval.certificate
  noteSubject(found, {
    name: stored.name,
    ca: stored.ca,
    ownerTeam: stored.owner_team,
    fingerprintSha256: stored.fingerprint_sha256,
  })
}

/** Notes the approval, and refuses one that cannot be used any more. */
function requireUsable(deps: ApprovalDeps, found: Findings, approval: Approval): void {
  const { memberId } = deps.principal
  noteApproval(found, approval)
  refuseUnlessPending(approval)
  if (approval.requested_by === memberId) throw GatewayError.of('SELF_APPROVAL')
  // Issue 22: one who sees it without an approver's role (an auditor) may not approve it.
  if (!deps.principal.roles.some((role) => approval.roles.includes(role))) {
    throw GatewayError.of('DENIED', {
      message: `Denied by policy: approving this delete takes the role ${approval.roles.join(' or ')}`,
    })
  }
}

const closed = (approval?: Approval | null) =>
  GatewayError.of('APPROVAL_CLOSED', {
    headers: { 'x-should-retry': 'false' },
    ...(approval?.status === 'executing'
      ? { message: 'This approval is already being used by another approval' }
      : {}),
  })

/** Closed (used, being used, or failed) is final: a retry could only run the delete twice. */
function refuseUnlessPending(approval: Approval | null): void {
  if (approval?.status === 'expired') throw GatewayError.of('APPROVAL_EXPIRED')
  if (approval === null || approval.status !== 'pending') throw closed(approval)
  if (Date.parse(approval.expires_at) <= Date.now()) throw GatewayError.of('APPROVAL_EXPIRED')
}

/** The certificate as it is now: it may have changed hands, or gone, since the request. */
async function requireDeletableNow(
  deps: ApprovalDeps,
  found: Findings,
  approval: Approval,
): Promise<KnownCertificate> {
  const { who, upstream } = deps
  const { account_id: accountId, certificate_id: certificateId } = approval
  const known = await visibleCertificate(deps, found, accountId, certificateId)
  who.refuseEarly(found, 'approve', known.facts)
  const associations = await followingUpstream(
    deps,
    found,
    { accountId, certificateId, known },
    () => associationsOf(upstream, accountId, certificateId),
  )
  const facts = { ...known.facts, hasAssociations: associations.length > 0 }
  who.requireAllowed(found, 'approve', facts)
  requireRequesterStillAllowed(deps, approval, facts)
  refuseInUse(associations)
  return known
}

export function approveDelete(
  deps: ApprovalDeps,
  approvalId: string,
): Promise<Outcome<Envelope<MtlsCertificate>>> {
  return run({}, async (found) => {
    const { who, upstream, approvals, principal } = deps
    const approval = await concernedApproval(deps, approvalId)
    requireUsable(deps, found, approval)
    const { account_id: accountId, certificate_id: certificateId } = approval

    // An account outside the caller's team is refused before the claim costs a round trip.
    who.requireAccount(accountId, GatewayError.of('CERTIFICATE_NOT_FOUND'))

    // Claimed before anything else is asked: of concurrent approvals (any isolate, any location)
    // exactly one wins; the others are refused as closed, and cost no upstream call.
    const claim = await approvals.claim(approval.id, principal.memberId, new Date())
    if (!claim.claimed) {
      refuseUnlessPending(claim.approval)
      throw closed(claim.approval)
    }
    let known: KnownCertificate
    try {
      known = await requireDeletableNow(deps, found, approval)
      // Issue 22: from here on it is the requester's delete, approved by the caller, and is
      // recorded as a delete that ran (action is in the chain's head: set before the pending entry).
      found.approval = { ...found.approval!, approvedBy: principal.memberId }
      found.performed = 'delete'
      await deps.audit.beforeChange(found)
    } catch (error) {
      // Not on record as a delete (the pending entry is the last step of the try): a refusal.
      found.approval = { id: approval.id, requestedBy: approval.requested_by }
      delete found.performed
      // Refused before anything was forwarded: the approval is open again, as it was (a
      // certificate in use today may be free tomorrow).
      await approvals
        .release(approval.id, principal.memberId)
        .catch((e) => console.error('reopening a refused approval failed', e))
      // Issue 22: unless the certificate is gone: then the approval closes, and says so plainly.
      if (upstreamSaysGone(error)) throw await closeAsGone(deps, found, approval)
      throw error
    }
    let envelope: Envelope<MtlsCertificate>
    try {
      envelope = await followingUpstream(deps, found, { accountId, certificateId, known }, () =>
        releaseOnDelete(deps.ledger, accountId, certificateId, () =>
          upstream.call(upstreamRequests.delete(accountId, certificateId)),
        ),
      )
    } catch (error) {
      if (error instanceof GatewayError && error.status === 429) {
        // Rate-limited (the upstream's 429, or the gateway's budget or breaker before sending):
        // nothing was deleted, so the approval is open again, for this or another approver later.
        found.approval = { id: approval.id, requestedBy: approval.requested_by }
        await approvals
          .release(approval.id, principal.memberId)
          .catch((e) => console.error('reopening a rate-limited approval failed', e))
        throw error
      }
      // Otherwise closed as failed, never back to pending: the upstream may have deleted it all
      // the same (a timeout), and a second approval must not send a second delete.
      const outcome = error instanceof Error ? error.message : 'failed'
      await approvals
        .close(approval.id, { status: 'failed', outcome }, new Date())
        .catch((e) => console.error('recording a failed approval failed', e))
      throw error
    }
    // The delete ran: that is the answer even if the record cannot say so yet (it then stays
    // `executing`, which is closed too).
    await approvals
      .close(approval.id, { status: 'executed' }, new Date())
      .catch((e) => console.error('recording an executed approval failed', e))
    return envelope
  })
}
