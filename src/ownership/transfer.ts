/**
 * A way forward for a certificate another team holds (issue 19, item 6). Any member can upload a
 * public certificate (a partner's root) before the team that needs it; Cloudflare then refuses the
 * second team's upload as a duplicate (1471) of a certificate that team cannot see.
 *
 *   duplicateRefusal  instead of relaying that 1471, the gateway finds the certificate (one
 *                     upstream list, then the PEMs whose serial matches, by bundle hash) and, if
 *                     the uploader may not see it, answers 409 / 18341: it exists, held by another
 *                     team or by none, how to ask for it, and the request id to quote. The
 *                     uploader's own team's certificate (or one an account-wide role sees) keeps
 *                     the plain 1471. If the lookup itself fails, the 1471 is relayed as before.
 *   fileTransfer      POST .../transfers with the same PEM: a pending transfer request of that
 *                     certificate to the caller's team (one per certificate and team; 7 days).
 *                     The caller must be allowed to upload such a certificate for its team.
 *   approveTransfer   a member allowed `assign` on the certificate (an admin; a lead of the
 *                     owning team where the policy lets leads assign their own certificates)
 *                     approves: the assign runs (assign.ts: quota, existence, the audit record),
 *                     exactly once (the coordinator's claim).
 *   listTransfers     the caller's team's requests, and those the caller may approve.
 *
 * What the asking team learns: that a certificate with this PEM exists (it holds the PEM, and
 * its upload already said so), never which team holds it or its id, until the transfer is
 * executed and the certificate is its own. Everything takes the PEM, never a certificate id, so a
 * team without the PEM cannot ask about a certificate at all; a request id says nothing to
 * anyone but the asking team and the approvers (404 / 18342 otherwise, as for an unknown id).
 */
import { run, type Findings, type Outcome } from '../kernel/operation'
import { GatewayError } from '../lib/errors'
import type { InspectedCertificate } from '../lib/inspect-pem'
import type { CertificateFacts } from '../policy/decide'
import type { Policy } from '../policy/document'
import { upstreamRequests } from '../upstream/request'
import type { MtlsCertificate } from '../upstream/shapes'
import { readList } from '../snapshot/serve'
import { assignIn, type Assignment } from './assign'
import { matchingBundle } from './bundles'
import type { OwnershipDeps } from '../kernel/operation'
import { TRANSFER_TTL_MS, type Transfer, type TransferStore } from './transfer-store'

export interface TransferDeps extends OwnershipDeps {
  policy: Policy
  transfers: TransferStore
}

/** Cloudflare's "This certificate already exists" (upstream-contract.md). */
const DUPLICATE = 1471
/** At most this many PEMs with the same serial are read to find the duplicate. */
const MAX_SERIAL_MATCHES = 8

export const isDuplicate = (error: unknown): error is GatewayError =>
  error instanceof GatewayError && error.errors.some((e) => e.code === DUPLICATE)

interface Holder {
  id: string
  facts: CertificateFacts
}

type Identity = Pick<InspectedCertificate, 'bundleSha256' | 'serialNumber'>

/** The certificate of the account with this bundle, and what the ledger says of it; or null. */
async function holderOf(deps: OwnershipDeps, accountId: string, pem: Identity) {
  // Issue 21: the snapshot first (no upstream call); the upstream's list when the snapshot is off
  // or does not hold it (uploaded outside the gateway since its last refresh).
  if (deps.snapshot !== undefined) {
    const read = await readList(deps.snapshot, deps.upstream, accountId, false)
    const found = await holderAmong(deps, accountId, pem, read.served?.certificates ?? [])
    if (found !== null) return found
  }
  const listed = await deps.upstream.call(upstreamRequests.list(accountId, undefined))
  return holderAmong(deps, accountId, pem, listed.result)
}

async function holderAmong(
  deps: OwnershipDeps,
  accountId: string,
  pem: Identity,
  certificates: readonly MtlsCertificate[],
) {
  const bundles = new Set([pem.bundleSha256])
  const budget = { reads: MAX_SERIAL_MATCHES, inspections: MAX_SERIAL_MATCHES }
  for (const cert of certificates) {
    if (cert.certificates === undefined) continue
    if (cert.serial_number !== undefined && cert.serial_number !== pem.serialNumber) continue
    if ((await matchingBundle(cert.id, cert.certificates, bundles, budget)) !== pem.bundleSha256) {
      continue
    }
    const owner = await deps.ledger.owner(accountId, cert.id)
    const facts = { ownerTeam: owner?.team ?? null, ca: cert.ca, expiresOn: cert.expires_on }
    return { id: cert.id, facts } satisfies Holder
  }
  return null
}

/**
 * The answer to an upload Cloudflare refused as a duplicate (see the file comment): the refusal
 * itself when the uploader may see the certificate, or when it cannot be found; else 18341.
 */
export async function duplicateRefusal(
  deps: OwnershipDeps,
  found: Findings,
  accountId: string,
  pem: Identity,
  refusal: GatewayError,
): Promise<GatewayError> {
  let holder: Holder | null
  try {
    holder = await holderOf(deps, accountId, pem)
  } catch (error) {
    console.error('finding the holder of a duplicate upload failed', error)
    return refusal
  }
  if (holder === null || deps.who.decide('get', holder.facts).effect === 'allow') return refusal
  // On the record (auditors only) for the admin the uploader quotes the request id to.
  found.certificateId = holder.id
  return GatewayError.of('DUPLICATE_HELD_ELSEWHERE', {
    message:
      'This certificate already exists in this account, held by another team or by none, so your team cannot see it. ' +
      `To ask for it, POST the same certificates to /gateway/v1/accounts/${accountId}/transfers; ` +
      'an admin (or a member allowed to assign it) approves the transfer to your team. ' +
      `Quote request ${deps.requestId}.`,
    headers: { 'x-should-retry': 'false' },
  })
}

/** What a transfer looks like to whoever reads it (the file comment says who learns what). */
export interface TransferView {
  id: string
  account_id: string
  to_team: string
  requested_by: string
  status: Transfer['status']
  created_at: string
  expires_at: string
  approved_by?: string
  closed_at?: string
  certificate_id?: string
  from_team?: string | null
}

function viewOf(t: Transfer, approver: boolean): TransferView {
  const view: TransferView = {
    id: t.id,
    account_id: t.account_id,
    to_team: t.to_team,
    requested_by: t.requested_by,
    status: t.status,
    created_at: t.created_at,
    expires_at: t.expires_at,
    ...(t.approved_by !== undefined ? { approved_by: t.approved_by } : {}),
    ...(t.closed_at !== undefined ? { closed_at: t.closed_at } : {}),
  }
  if (approver) return { ...view, certificate_id: t.certificate_id, from_team: t.from_team }
  // Executed, the certificate is the asking team's own: it sees it anyway.
  return t.status === 'executed' ? { ...view, certificate_id: t.certificate_id } : view
}

const storedFacts = (t: Transfer): CertificateFacts => ({
  ownerTeam: t.from_team,
  ...(t.ca !== undefined ? { ca: t.ca } : {}),
  ...(t.expires_on !== undefined ? { expiresOn: t.expires_on } : {}),
})

/** How the caller relates to a transfer: may approve it, asked for it (its team), or neither. */
function relationTo(deps: TransferDeps, t: Transfer): 'approver' | 'asker' | null {
  const team = deps.policy.teams.find((x) => x.id === deps.principal.teamId)
  if (team === undefined || !team.accounts.includes(t.account_id)) return null
  if (deps.who.decide('assign', storedFacts(t)).effect === 'allow') return 'approver'
  return t.to_team === deps.principal.teamId ? 'asker' : null
}

export function fileTransfer(
  deps: TransferDeps,
  input: { accountId: string; inspected: InspectedCertificate },
): Promise<Outcome<TransferView>> {
  const { accountId, inspected } = input
  return run({ accountId }, async (found) => {
    const { who, principal } = deps
    who.requireAccount(accountId, GatewayError.of('ACCOUNT_NOT_FOUND'))
    const own = { ownerTeam: principal.teamId, expiresOn: inspected.expiresOn }
    // Only a team that could upload it may ask for it; a refusal no CA flag could change first,
    // before the upstream is asked anything.
    if (who.decide('upload', own, 'optimistic').effect === 'deny') {
      who.requireAllowed(found, 'upload', own)
    }
    const holder = await holderOf(deps, accountId, inspected)
    // The same answer as for any certificate that does not exist: upload it instead.
    if (holder === null) throw GatewayError.of('CERTIFICATE_NOT_FOUND')
    who.requireAllowed(found, 'upload', { ...own, ca: holder.facts.ca })
    if (who.decide('get', holder.facts).effect === 'allow') {
      throw GatewayError.of('TRANSFER_NOT_NEEDED', {
        message: `Your team can already see this certificate: ${holder.id}`,
      })
    }
    found.certificateId = holder.id
    const now = Date.now()
    const transfer = await deps.transfers.file({
      id: deps.transfers.newId(accountId),
      account_id: accountId,
      certificate_id: holder.id,
      from_team: holder.facts.ownerTeam,
      ...(holder.facts.ca !== undefined ? { ca: holder.facts.ca } : {}),
      ...(holder.facts.expiresOn !== undefined ? { expires_on: holder.facts.expiresOn } : {}),
      to_team: principal.teamId,
      requested_by: principal.memberId,
      request_id: deps.requestId,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + TRANSFER_TTL_MS).toISOString(),
      status: 'pending',
    })
    found.approval = { id: transfer.id, requestedBy: transfer.requested_by }
    return viewOf(transfer, false)
  })
}

export function listTransfers(
  deps: TransferDeps,
  input: { accountId: string },
): Promise<Outcome<TransferView[]>> {
  return run({ accountId: input.accountId }, async () => {
    deps.who.requireAccount(input.accountId, GatewayError.of('ACCOUNT_NOT_FOUND'))
    const views: TransferView[] = []
    for (const t of await deps.transfers.list(input.accountId)) {
      const relation = relationTo(deps, t)
      if (relation !== null) views.push(viewOf(t, relation === 'approver'))
    }
    return views
  })
}

const closed = (status: Transfer['status']) =>
  GatewayError.of('TRANSFER_CLOSED', {
    message: `This transfer request is ${status === 'executing' ? 'being approved by someone else' : status}`,
    headers: { 'x-should-retry': 'false' },
  })

export function approveTransfer(
  deps: TransferDeps,
  transferId: string,
): Promise<Outcome<{ transfer: TransferView; assignment: Assignment }>> {
  return run({}, async (found) => {
    const { transfers, principal } = deps
    const t = await transfers.get(transferId)
    const relation = t === null ? null : relationTo(deps, t)
    if (t === null || relation === null) throw GatewayError.of('TRANSFER_NOT_FOUND')
    found.accountId = t.account_id
    if (relation !== 'approver') {
      throw GatewayError.of('DENIED', {
        message:
          'Denied by policy: a transfer is approved by a member allowed to assign the certificate (an admin), not by the team that asked for it',
      })
    }
    found.certificateId = t.certificate_id
    found.approval = { id: t.id, requestedBy: t.requested_by, approvedBy: principal.memberId }
    if (t.status !== 'pending') throw closed(t.status)
    const claim = await transfers.claim(t.account_id, t.id, principal.memberId)
    if (!claim.claimed) throw closed(claim.transfer?.status ?? 'expired')
    let assignment: Assignment
    try {
      assignment = await assignIn(deps, found, {
        accountId: t.account_id,
        certificateId: t.certificate_id,
        team: t.to_team,
      })
    } catch (error) {
      // Refused (quota, policy, the certificate gone): open again, for a later approval.
      await transfers
        .reopen(t.account_id, t.id, principal.memberId)
        .catch((e) => console.error('reopening a refused transfer failed', e))
      throw error
    }
    await transfers
      .close(t.account_id, t.id)
      .catch((e) => console.error('recording an executed transfer failed', e))
    const executed: Transfer = {
      ...t,
      status: 'executed',
      approved_by: principal.memberId,
      closed_at: new Date().toISOString(),
    }
    return { transfer: viewOf(executed, true), assignment }
  })
}
