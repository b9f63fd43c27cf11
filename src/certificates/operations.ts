/**
 * The back half of the pipe for the five endpoints and the approval of a gated delete. Each
 * operation runs in one direction: account in scope → certificate facts (ledger, else upstream)
 * → policy decision → forward → record ownership. Handlers only pick the operation.
 *
 * Upstream calls made here only to learn facts are reads (a GET of the certificate when the ledger
 * has no entry for it, the associations before a delete); a refused upload, delete or approval is
 * never forwarded.
 */
import type { Context } from 'hono'
import { approvals, fromStoredFacts, toStoredFacts, type Approval } from '../approvals/store'
import { recordBeforeForward } from '../audit/middleware'
import type { AppEnv } from '../lib/app-env'
import type { UpstreamEnvelope } from '../lib/envelope'
import { GatewayError, detail } from '../lib/errors'
import { isActive } from '../identity/authenticate'
import { note, type Action } from '../lib/request-facts'
import type { UpstreamCertificate } from '../ownership/reconcile'
import { decide, type CertificateFacts } from '../policy/decide'
import { decideFor, requireAccount, requireAllowed, requireVisible } from '../policy/enforce'
import { forward } from '../upstream/forward'
import { upstreamRequests } from '../upstream/request'
import { adopt, associationsOf, certificateFacts, fromLedger, ledgerFor } from './facts'
import type { InspectedCertificate } from './inspect-pem'
import { matchesListFilter, withListResult, type ListFilter } from './list-filter'
import type { CertificateType, UploadFields } from './schemas'

type Ctx = Context<AppEnv>

const notFound = () => GatewayError.of('CERTIFICATE_NOT_FOUND')

/** Account in scope, certificate facts, and the certificate visible to the caller. */
async function visibleCertificate(
  c: Ctx,
  action: Action,
  accountId: string,
  certificateId: string,
) {
  note(c, action, accountId, certificateId)
  requireAccount(c, accountId, notFound())
  const known = await certificateFacts(c, accountId, certificateId)
  requireVisible(c, known.facts)
  return known
}

export async function listCertificates(
  c: Ctx,
  accountId: string,
  types: readonly CertificateType[] | undefined,
  filter: ListFilter,
): Promise<UpstreamEnvelope> {
  note(c, 'list', accountId)
  requireAccount(c, accountId, GatewayError.of('ACCOUNT_NOT_FOUND'))
  requireAllowed(c, 'list', undefined)
  const envelope = await forward(c, upstreamRequests.list(accountId, types))
  const certs = Array.isArray(envelope.result) ? (envelope.result as UpstreamCertificate[]) : []
  const ledger = ledgerFor(c)
  const owners = await fromLedger(ledger.owners(accountId))
  const adopted = await adopt(
    c,
    accountId,
    certs.filter((cert) => !owners.has(cert.id)),
  )
  const visible = certs.filter((cert) => {
    if (!matchesListFilter(cert, filter)) return false
    const facts = {
      ownerTeam: owners.get(cert.id) ?? adopted.get(cert.id) ?? null,
      ca: cert.ca,
      expiresOn: cert.expires_on,
    }
    return decideFor(c, 'list', facts).effect === 'allow'
  })
  return withListResult(envelope, visible)
}

export async function uploadCertificate(
  c: Ctx,
  accountId: string,
  fields: UploadFields,
  inspected: InspectedCertificate,
): Promise<UpstreamEnvelope> {
  note(c, 'upload', accountId)
  requireAccount(c, accountId, GatewayError.of('ACCOUNT_NOT_FOUND'))
  const { teamId, memberId } = c.var.principal
  requireAllowed(c, 'upload', {
    ownerTeam: teamId,
    ca: fields.ca,
    expiresOn: inspected.expiresOn,
    hasAssociations: false,
  })

  // A change is on the audit record before anything is written or forwarded, or it does not happen.
  await recordBeforeForward(c)
  const ledger = ledgerFor(c)
  const intent = {
    bundle_sha256: inspected.bundleSha256,
    team: teamId,
    member: memberId,
    request_id: c.var.requestId,
    at: new Date().toISOString(),
    ca: fields.ca,
    expires_on: inspected.expiresOn,
  }
  try {
    await ledger.recordIntent(accountId, intent)
  } catch (error) {
    throw GatewayError.of('LEDGER_UNAVAILABLE', { cause: error })
  }

  let envelope: UpstreamEnvelope
  try {
    envelope = await forward(c, upstreamRequests.upload(accountId, fields))
  } catch (error) {
    // A refusal (4xx) created nothing, so its intent goes: left behind, it could later adopt a
    // certificate of the same PEM uploaded by someone else. After a 5xx, a timeout or a dropped
    // connection the certificate may exist: the intent stays, for adoption.
    if (error instanceof GatewayError && error.status < 500) {
      await ledger
        .clearIntent(accountId, intent)
        .catch((e) => console.error('clearing an upload intent failed', e))
    }
    throw error
  }

  const cert = envelope.result as UpstreamCertificate
  c.var.facts.certificateId = cert.id
  try {
    await ledger.assign(accountId, cert.id, {
      team: teamId,
      member: memberId,
      request_id: c.var.requestId,
      assigned_at: new Date().toISOString(),
      via: 'upload',
      ca: fields.ca,
      expires_on: inspected.expiresOn,
      fingerprint_sha256: inspected.fingerprintSha256,
    })
  } catch (error) {
    // The certificate exists and nobody owns it yet. Say so to the caller and the log; the intent
    // stays, so the next read that meets the certificate adopts it for this team.
    console.error(
      `certificate ${cert.id} uploaded by ${memberId} (request ${c.var.requestId}) has no ledger entry yet`,
      error,
    )
    return { ...envelope, messages: [...envelope.messages, detail('OWNERSHIP_NOT_RECORDED')] }
  }
  await ledger
    .clearIntent(accountId, intent)
    .catch((e) => console.error('clearing an upload intent failed', e))
  return envelope
}

export async function getCertificate(
  c: Ctx,
  accountId: string,
  certificateId: string,
): Promise<UpstreamEnvelope> {
  const known = await visibleCertificate(c, 'get', accountId, certificateId)
  requireAllowed(c, 'get', known.facts)
  return known.fetched ?? (await forward(c, upstreamRequests.get(accountId, certificateId)))
}

export async function listAssociations(
  c: Ctx,
  accountId: string,
  certificateId: string,
): Promise<UpstreamEnvelope> {
  const known = await visibleCertificate(c, 'associations', accountId, certificateId)
  requireAllowed(c, 'associations', known.facts)
  return forward(c, upstreamRequests.associations(accountId, certificateId))
}

function refuseInUse(associations: { service?: string; status?: string }[]): never {
  const services = associations
    .map((a) => `${a.service ?? 'unknown'} (${a.status ?? 'unknown'})`)
    .join(', ')
  throw GatewayError.of('CERTIFICATE_IN_USE', {
    message: `The certificate is in use by ${services}; remove those associations before deleting it`,
    headers: { 'x-should-retry': 'false' },
  })
}

export type DeleteOutcome =
  { kind: 'deleted'; envelope: UpstreamEnvelope } | { kind: 'pending'; approval: Approval }

export async function deleteCertificate(
  c: Ctx,
  accountId: string,
  certificateId: string,
): Promise<DeleteOutcome> {
  const known = await visibleCertificate(c, 'delete', accountId, certificateId)
  refuseEarly(c, 'delete', known.facts)
  const associations = await associationsOf(c, accountId, certificateId)
  const decision = requireAllowed(c, 'delete', {
    ...known.facts,
    hasAssociations: associations.length > 0,
  })
  if (associations.length > 0) refuseInUse(associations)
  await recordBeforeForward(c)

  if (decision.approval !== undefined) {
    const now = new Date()
    const approval: Approval = {
      id: crypto.randomUUID(),
      account_id: accountId,
      certificate_id: certificateId,
      requested_by: c.var.principal.memberId,
      requested_team: c.var.principal.teamId,
      request_id: c.var.requestId,
      roles: decision.approval.roles,
      rule_ids: decision.ruleIds,
      certificate: toStoredFacts(known.facts),
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + decision.approval.ttlMinutes * 60_000).toISOString(),
      status: 'pending',
    }
    try {
      await approvals(c.env.LEDGER).put(approval)
    } catch (error) {
      throw GatewayError.of('LEDGER_UNAVAILABLE', {
        message: 'The approval could not be stored; nothing was deleted',
        cause: error,
      })
    }
    return { kind: 'pending', approval }
  }
  return { kind: 'deleted', envelope: await forwardDelete(c, accountId, certificateId) }
}

async function forwardDelete(
  c: Ctx,
  accountId: string,
  certificateId: string,
): Promise<UpstreamEnvelope> {
  const envelope = await forward(c, upstreamRequests.delete(accountId, certificateId))
  // The certificate is gone; a stale ledger entry would only ever describe a deleted id.
  await ledgerFor(c)
    .release(accountId, certificateId)
    .catch((e) => console.error('releasing a ledger entry failed', e))
  return envelope
}

/**
 * Refuses before the associations are fetched when no value of them could change a "deny": a
 * refusal then costs no call on the shared upstream budget.
 */
function refuseEarly(c: Ctx, action: 'delete' | 'approve', facts: CertificateFacts): void {
  if (decideFor(c, action, facts, 'optimistic').effect === 'deny') requireAllowed(c, action, facts)
}

/**
 * An approval the caller is concerned by: they requested it, or they hold one of its roles and
 * could see its certificate (decided on the certificate as it was when the delete was requested,
 * so a closed approval stays readable after the certificate is gone). For anybody else it does
 * not exist, whatever its state, so that an approval id says nothing to other teams.
 */
export async function concernedApproval(c: Ctx, approvalId: string): Promise<Approval> {
  const approval = await fromLedger(approvals(c.env.LEDGER).get(approvalId))
  const unknown = GatewayError.of('APPROVAL_NOT_FOUND')
  if (approval === null) throw unknown
  const { memberId, roles } = c.var.principal
  if (approval.requested_by === memberId) return approval
  if (!roles.some((role) => approval.roles.includes(role))) throw unknown
  requireAccount(c, approval.account_id, unknown)
  if (decideFor(c, 'get', fromStoredFacts(approval.certificate)).effect === 'deny') throw unknown
  return approval
}

/** The requester must still be an active member, and the delete still allowed for them now. */
function requireRequesterStillAllowed(c: Ctx, approval: Approval, facts: CertificateFacts): void {
  const { policy } = c.var.config
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

export async function approveDelete(c: Ctx, approvalId: string): Promise<UpstreamEnvelope> {
  const approval = await concernedApproval(c, approvalId)
  note(c, 'approve', approval.account_id, approval.certificate_id)
  c.var.facts.approval = {
    id: approval.id,
    requestedBy: approval.requested_by,
    approvedBy: c.var.principal.memberId,
  }

  const closed = { headers: { 'x-should-retry': 'false' } }
  if (approval.status !== 'pending') throw GatewayError.of('APPROVAL_CLOSED', closed)
  if (Date.parse(approval.expires_at) <= Date.now()) throw GatewayError.of('APPROVAL_EXPIRED')
  if (approval.requested_by === c.var.principal.memberId) throw GatewayError.of('SELF_APPROVAL')

  // The certificate as it is now: it may have changed hands, or gone, since the request.
  requireAccount(c, approval.account_id, notFound())
  const known = await certificateFacts(c, approval.account_id, approval.certificate_id)
  requireVisible(c, known.facts)
  refuseEarly(c, 'approve', known.facts)
  const associations = await associationsOf(c, approval.account_id, approval.certificate_id)
  const facts = { ...known.facts, hasAssociations: associations.length > 0 }
  requireAllowed(c, 'approve', facts)
  requireRequesterStillAllowed(c, approval, facts)
  if (associations.length > 0) refuseInUse(associations)

  await recordBeforeForward(c)
  // Closed before the delete is forwarded, so that a second approval cannot run it again.
  const store = approvals(c.env.LEDGER)
  const executed: Approval = {
    ...approval,
    status: 'executed',
    approved_by: c.var.principal.memberId,
    closed_at: new Date().toISOString(),
  }
  try {
    await store.put(executed)
  } catch (error) {
    throw GatewayError.of('LEDGER_UNAVAILABLE', {
      message: 'The approval could not be closed; nothing was deleted',
      cause: error,
    })
  }
  try {
    return await forwardDelete(c, approval.account_id, approval.certificate_id)
  } catch (error) {
    const outcome = error instanceof Error ? error.message : 'failed'
    await store
      .put({ ...executed, status: 'failed', outcome })
      .catch((e) => console.error('recording a failed approval failed', e))
    throw error
  }
}
