/**
 * The five endpoints' operations. Each takes plain inputs (the request scope's deps and the
 * validated request) and returns an `Outcome`: the answer or the refusal, with what the audit
 * needs. Each runs in one direction: account in scope → certificate facts (ledger, else upstream)
 * → policy decision → forward → record ownership. No Hono type reaches this file.
 *
 * Upstream calls made here only to learn facts are reads (a GET of the certificate when the ledger
 * has no entry for it, the associations before a delete); a refused upload or delete is never
 * forwarded. A delete the policy gates behind an approval is parked (approvals/park.ts).
 */
import { run, type ApprovalDeps, type Outcome, type OwnershipDeps } from '../kernel/operation'
import { park, type ParkedDelete } from '../approvals/park'
import type { RequestScope } from '../kernel/scope' // issue 23
import { requireRotationReady } from '../lifecycle/rotation' // issue 23
import { ERROR_CODES, GatewayError } from '../lib/errors'
import type { Findings } from '../audit/record'
import type { Ledger } from '../ownership/ledger'
import type { Pairing } from '../coordinator/notices'
import { releaseOnDelete, trackUpload } from '../ownership/bookkeeping'
import {
  adopt,
  associationsOf,
  followingUpstream,
  refuseInUse,
  servedCertificate,
  visibleCertificate,
} from '../ownership/facts'
import { duplicateRefusal, isDuplicate } from '../ownership/transfer'
import type { Envelope } from '../upstream/port'
import { upstreamRequests } from '../upstream/request'
import type { Association, MtlsCertificate } from '../upstream/shapes'
import type { InspectedCertificate } from '../lib/inspect-pem'
import { matchesListFilter, matchesTypes, withListResult, type ListFilter } from './list-filter'
import { readAssociations, readList, readOne } from '../snapshot/serve'
import type { CertificateType, UploadFields } from './schemas'

export interface CertificateRef {
  accountId: string
  certificateId: string
}

export function listCertificates(
  deps: OwnershipDeps,
  input: {
    accountId: string
    types: readonly CertificateType[] | undefined
    filter: ListFilter
    /** `Cache-Control: no-cache`: read upstream, as the caller (issue 21). */
    noCache?: boolean
  },
): Promise<Outcome<Envelope<MtlsCertificate[]>>> {
  const { accountId } = input
  return run({ accountId }, async (found) => {
    const { who, ledger, upstream } = deps
    who.requireAccount(accountId, GatewayError.of('ACCOUNT_NOT_FOUND'))
    who.requireAllowed(found, 'list', undefined)
    // Issue 21: from the snapshot, with owners and intents in the same coordinator answer.
    const read =
      deps.snapshot === undefined
        ? null
        : await readList(deps.snapshot, upstream, accountId, input.noCache === true)
    if (read !== null) found.served = read.how
    let envelope: Envelope<MtlsCertificate[]>
    let certs: MtlsCertificate[]
    if (read?.served) {
      envelope = { ...read.served.frame, success: true, result: read.served.certificates }
      certs = read.served.certificates.filter((cert) => matchesTypes(cert, input.types))
    } else {
      envelope = await upstream.call(upstreamRequests.list(accountId, input.types))
      certs = envelope.result
    }
    const { owners, intents } = read ?? (await ledger.owners(accountId))
    const unowned = certs.filter((cert) => !owners.has(cert.id))
    const adopted = await adopt(deps, found, accountId, unowned, intents)
    const visible = certs.filter((cert) => {
      if (!matchesListFilter(cert, input.filter)) return false
      const facts = {
        ownerTeam: owners.get(cert.id) ?? adopted.get(cert.id) ?? null,
        ca: cert.ca,
        expiresOn: cert.expires_on,
      }
      return who.decide('list', facts).effect === 'allow'
    })
    return withListResult(envelope, visible)
  })
}

export function uploadCertificate(
  deps: OwnershipDeps,
  input: { accountId: string; fields: UploadFields; inspected: InspectedCertificate },
): Promise<Outcome<Envelope<MtlsCertificate & { updated_at?: string | undefined }>>> {
  const { accountId, fields, inspected } = input
  const certificate = {
    fingerprintSha256: inspected.fingerprintSha256,
    serialNumber: inspected.serialNumber,
    ...(fields.name !== undefined ? { name: fields.name } : {}),
  }
  // Issue 22: an upload's entry names its kind and owner too.
  const subject = { ca: fields.ca, ownerTeam: deps.principal.teamId }
  return run({ accountId, certificate, subject }, async (found) => {
    const { who, principal } = deps
    who.requireAccount(accountId, GatewayError.of('ACCOUNT_NOT_FOUND'))
    who.requireAllowed(found, 'upload', {
      ownerTeam: principal.teamId,
      ca: fields.ca,
      expiresOn: inspected.expiresOn,
      hasAssociations: false,
    })
    const uploaded = await trackUpload(
      {
        ledger: deps.ledger,
        accountId,
        team: principal.teamId,
        member: principal.memberId,
        requestId: deps.requestId,
        ca: fields.ca,
        expiresOn: inspected.expiresOn,
        bundleSha256: inspected.bundleSha256,
        fingerprintSha256: inspected.fingerprintSha256,
        name: fields.name,
        caQuota: deps.caQuota(principal.teamId),
        // A change is on the audit record before anything is forwarded, or it does not happen.
        record: () => deps.audit.beforeChange(found),
        // Issue 21 item 3: the number rides on the intent's round trip; the lease beside it.
        recordWith:
          deps.audit.beforeChangeWith === undefined
            ? undefined
            : (take) => deps.audit.beforeChangeWith!(found, take),
        admitAhead: deps.upstream.admitAhead?.bind(deps.upstream),
      },
      () => deps.upstream.call(upstreamRequests.upload(accountId, fields)),
    ).catch(async (error: unknown) => {
      // A duplicate of a certificate the team cannot see: a way forward, not a bare 1471.
      if (!isDuplicate(error)) throw error
      throw await duplicateRefusal(deps, found, accountId, inspected, error)
    })
    found.certificateId = uploaded.certificateId
    return uploaded.envelope
  })
}

export function getCertificate(
  deps: OwnershipDeps,
  { accountId, certificateId, noCache }: CertificateRef & { noCache?: boolean },
): Promise<Outcome<Envelope<MtlsCertificate>>> {
  return run({ accountId, certificateId }, async (found) => {
    // Issue 21: from the snapshot, owner and intents in the same coordinator answer.
    if (deps.snapshot !== undefined) {
      deps.who.requireAccount(accountId, GatewayError.of('CERTIFICATE_NOT_FOUND'))
      const { snapshot, upstream } = deps
      const read = await readOne(snapshot, upstream, accountId, certificateId, noCache === true)
      found.served = read.how
      if (read.served !== null) {
        const known = await servedCertificate(
          deps,
          found,
          { accountId, certificateId },
          {
            ...read,
            served: read.served,
          },
        )
        deps.who.requireAllowed(found, 'get', known.facts)
        return known.fetched
      }
    }
    const known = await visibleCertificate(deps, found, accountId, certificateId)
    deps.who.requireAllowed(found, 'get', known.facts)
    return (
      known.fetched ??
      (await followingUpstream(deps, found, { accountId, certificateId, known }, () =>
        deps.upstream.call(upstreamRequests.get(accountId, certificateId)),
      ))
    )
  })
}

export function listAssociations(
  deps: OwnershipDeps,
  { accountId, certificateId }: CertificateRef,
): Promise<Outcome<Envelope<Association[]>>> {
  return run({ accountId, certificateId }, async (found) => {
    // Issue 21: facts from the snapshot, associations cached for a few seconds, one round trip.
    if (deps.snapshot !== undefined) {
      deps.who.requireAccount(accountId, GatewayError.of('CERTIFICATE_NOT_FOUND'))
      const { snapshot, upstream } = deps
      const read = await readAssociations(snapshot, upstream, accountId, certificateId)
      // How the facts were read until the associations are answered (a refusal carries it, for a
      // foreign id and a missing one alike), then how the associations were.
      found.served = read.how
      if (read.served !== null) {
        const ref = { accountId, certificateId }
        const known = await servedCertificate(deps, found, ref, { ...read, served: read.served })
        deps.who.requireAllowed(found, 'associations', known.facts)
        const { envelope, how } = await read.associations(() =>
          followingUpstream(deps, found, { ...ref, known: { ...known, fetched: undefined } }, () =>
            upstream.call(upstreamRequests.associations(accountId, certificateId)),
          ),
        )
        found.served = how
        return envelope
      }
    }
    const known = await visibleCertificate(deps, found, accountId, certificateId)
    deps.who.requireAllowed(found, 'associations', known.facts)
    return followingUpstream(deps, found, { accountId, certificateId, known }, () =>
      deps.upstream.call(upstreamRequests.associations(accountId, certificateId)),
    )
  })
}

/**
 * Issue 21 item 3: the deps with a ledger whose owner read also takes the audit entry's number
 * (one round trip for both, on the account's instance). The pending entry is still written after
 * the decision and before anything is forwarded (`beforeChange`), under that number.
 */
function numberingOwner<D extends OwnershipDeps>(
  deps: D,
  found: Findings,
  pairings: { read?: Pairing[] },
): D {
  const { ledger, audit } = deps
  // An audit port that does not number ahead (the unit tests' fakes) keeps the plain owner read.
  const numberWith = audit.numberWith?.bind(audit)
  if (numberWith === undefined) return deps
  const owner: Ledger['owner'] = (accountId, certificateId) =>
    numberWith(found, async (ask) => {
      const mine = ask?.chain === accountId ? ask : undefined
      const answer = await ledger.ownerNumbered(accountId, certificateId, mine)
      pairings.read = answer.pairings
      return { value: answer.owner, position: answer.position }
    })
  return { ...deps, ledger: { ...ledger, owner } }
}

/** The rotation gate's deps, answering the pairings already read with the owner (if they were). */
function withPairings<D extends RotationDeps>(deps: D, read: Pairing[] | undefined): D {
  const { lifecycle } = deps
  if (read === undefined || lifecycle === undefined) return deps
  const notices = { ...lifecycle.notices, pairings: () => Promise.resolve(read) }
  return { ...deps, lifecycle: { ...lifecycle, notices } }
}

/**
 * Issue 23: the rotation gate as the policy says (`lifecycle.rotation.gate`): `refuse` lets the
 * gate's 409 through; `approval` turns it into an approval gate for `approver_roles`.
 */
async function rotationGateOf(
  deps: { policy: ApprovalDeps['policy'] },
  gate: () => Promise<void>,
): Promise<{ roles: string[]; ttlMinutes: number } | undefined> {
  const { rotation } = deps.policy.lifecycle
  try {
    await gate()
    return undefined
  } catch (error) {
    if (rotation.gate !== 'approval' || !(error instanceof GatewayError)) throw error
    if (error.errors[0]?.code !== ERROR_CODES.ROTATION_NOT_READY.code) throw error
    return { roles: rotation.approver_roles, ttlMinutes: rotation.ttl_minutes }
  }
}

/** Issue 23: the notices' store, for a named successor's gate (absent: no gate). */
type RotationDeps = Partial<Pick<RequestScope, 'lifecycle'>>

export type DeleteResult =
  | { kind: 'deleted'; envelope: Envelope<MtlsCertificate> }
  | { kind: 'parked'; parked: ParkedDelete }

export function deleteCertificate(
  deps: ApprovalDeps & RotationDeps,
  // Issue 22: `reason`, why the requester asks, kept if the delete is parked for approval.
  { accountId, certificateId, reason }: CertificateRef & { reason?: string | undefined },
): Promise<Outcome<DeleteResult>> {
  return run({ accountId, certificateId }, async (found): Promise<DeleteResult> => {
    const { who, upstream } = deps
    // Issue 21 item 3: the owner read also numbers the entry and brings the successor pairings.
    const pairings: { read?: Pairing[] } = {}
    const known = await visibleCertificate(
      numberingOwner(deps, found, pairings),
      found,
      accountId,
      certificateId,
    )
    who.refuseEarly(found, 'delete', known.facts)
    const ref = { accountId, certificateId, known }
    const associations = await followingUpstream(deps, found, ref, () =>
      associationsOf(upstream, accountId, certificateId),
    )
    const facts = { ...known.facts, hasAssociations: associations.length > 0 }
    const decision = who.requireAllowed(found, 'delete', facts)
    refuseInUse(associations)
    // Issue 23: rotation pairing; the policy may park a delete it refuses for an admin instead.
    const rotationGate = await rotationGateOf(deps, () =>
      requireRotationReady(withPairings(deps, pairings.read), accountId, certificateId),
    )
    // After the decision, not beside the associations: the pending entry is the only record if
    // the final one is lost, so it must carry the rules that allowed the delete, and "pending"
    // must mean "allowed, and perhaps done".
    await deps.audit.beforeChange(found)
    const { ruleIds } = decision
    const approval = decision.approval ?? rotationGate // issue 23
    if (approval !== undefined) {
      const target = { accountId, certificateId }
      return {
        kind: 'parked',
        parked: await park(deps, found, target, facts, known.label, { ruleIds, approval }, reason),
      }
    }
    const envelope = await followingUpstream(deps, found, ref, () =>
      releaseOnDelete(deps.ledger, accountId, certificateId, () =>
        upstream.call(upstreamRequests.delete(accountId, certificateId)),
      ),
    )
    return { kind: 'deleted', envelope }
  })
}
