/**
 * What the gateway knows about a certificate before it decides: the ledger first (owner, CA or
 * leaf, expiry, recorded at upload), the upstream second (a GET, only when the ledger has no entry;
 * it answers 404 for a certificate that does not exist). Plus the associations a delete needs.
 *
 * The ledger follows the upstream (`followingUpstream`): a certificate the ledger owns but whose
 * get, associations read or delete the upstream answers 404 / 1472 was deleted outside the
 * gateway, so its owner record goes, and with it the CA quota slot it held; the audit entry names
 * it (`released`), on record before the ledger changes, like every change. Only the upstream's
 * own 1472 counts (upstream/relay.ts `upstreamSaysGone`), never the gateway's "not found" or
 * another 404, and only for a request that was allowed to ask about the certificate.
 */
import type { Findings, OwnershipDeps } from '../kernel/operation'
import { noteSubject } from '../audit/record'
import { GatewayError } from '../lib/errors'
import type { CertificateFacts } from '../policy/decide'
import type { Authorizer } from '../policy/enforce'
import type { Envelope, Upstream } from '../upstream/port'
import { upstreamSaysGone } from '../upstream/relay'
import { upstreamRequests } from '../upstream/request'
import type { Association, MtlsCertificate } from '../upstream/shapes'
import type { CertificateLabel, IntentSummary } from './ledger'
import { adoptUnowned, type UpstreamCertificate } from './reconcile'
import type { OneRead } from '../snapshot/serve'

/**
 * Adopts what can be adopted among unowned certificates (ownership/reconcile.ts), with the change
 * on the audit record first, and adds each adoption to the findings.
 */
export async function adopt(
  deps: OwnershipDeps,
  found: Findings,
  accountId: string,
  unowned: UpstreamCertificate[],
  intents: IntentSummary[],
) {
  const adopted = await adoptUnowned(
    deps.ledger,
    accountId,
    unowned,
    intents,
    deps.uploadWindowMs,
    () => deps.audit.beforeChange(found),
  )
  for (const [certificate_id, team] of adopted) {
    ;(found.adopted ??= []).push({ certificate_id, team })
  }
  return adopted
}

export interface KnownCertificate {
  facts: CertificateFacts
  /** Its name, fingerprint and issuer as far as the ledger or the upstream's answer say. */
  label: CertificateLabel
  /** The upstream's answer, when it had to be asked (the ledger had no entry). */
  fetched?: Envelope<MtlsCertificate>
}

/**
 * Makes `call` (an upstream read or delete of this certificate); if the upstream answers that the
 * certificate does not exist while the ledger names an owner for it, the owner record is dropped
 * (the change on the audit record first) before the 404 is answered. If the record cannot be put
 * on the audit record, nothing is dropped: the next request that meets it tries again.
 */
export async function followingUpstream<R>(
  deps: OwnershipDeps,
  found: Findings,
  ref: { accountId: string; certificateId: string; known: KnownCertificate },
  call: () => Promise<R>,
): Promise<R> {
  try {
    return await call()
  } catch (error) {
    const team = ref.known.fetched === undefined ? ref.known.facts.ownerTeam : null
    if (team !== null && upstreamSaysGone(error)) {
      await releaseGone(deps, found, ref.accountId, ref.certificateId, team)
    }
    throw error
  }
}

async function releaseGone(
  deps: OwnershipDeps,
  found: Findings,
  accountId: string,
  certificateId: string,
  team: string,
): Promise<void> {
  found.released = { certificate_id: certificateId, team }
  try {
    await deps.audit.beforeChange(found)
    await deps.ledger.release(accountId, certificateId)
    console.warn(`released certificate ${certificateId} of team ${team}: gone upstream`)
  } catch (error) {
    delete found.released
    console.error(`releasing certificate ${certificateId}, gone upstream, failed`, error)
  }
}

/** Whether some unowned certificate could be visible to the caller, whatever its other facts. */
const couldSeeUnowned = (who: Authorizer) =>
  who.decide('get', { ownerTeam: null }, 'optimistic').effect === 'allow'

export async function certificateFacts(
  deps: OwnershipDeps,
  found: Findings,
  accountId: string,
  certificateId: string,
): Promise<KnownCertificate> {
  const { ledger, who } = deps
  const entry = await ledger.owner(accountId, certificateId)
  if (entry !== null) {
    // Issue 22: the entry names what it touched, as the ledger knows it.
    noteSubject(found, {
      name: entry.name,
      ca: entry.ca,
      ownerTeam: entry.team,
      fingerprintSha256: entry.fingerprint_sha256,
    })
    return {
      facts: { ownerTeam: entry.team, ca: entry.ca, expiresOn: entry.expires_on },
      label: { name: entry.name, fingerprintSha256: entry.fingerprint_sha256 },
    }
  }
  // Unowned as far as the ledger knows. If no unowned certificate could be visible to the caller
  // whatever it is, the answer is "not found" without asking the upstream anything, exactly as for
  // another team's certificate. (Such a caller's lost upload is adopted by its team's next list.)
  if (!couldSeeUnowned(who)) throw GatewayError.of('CERTIFICATE_NOT_FOUND')
  // Only the upstream can say what it is (404 if nothing).
  const fetched = await deps.upstream.call(upstreamRequests.get(accountId, certificateId))
  const cert = fetched.result
  const intents = await ledger.intents(accountId)
  const adopted = await adopt(deps, found, accountId, [cert], intents)
  // Issue 22: as the upstream answered (no fingerprint: only the ledger or an upload knows it).
  noteSubject(found, { name: cert.name, ca: cert.ca, ownerTeam: adopted.get(cert.id) ?? null })
  return {
    facts: { ownerTeam: adopted.get(cert.id) ?? null, ca: cert.ca, expiresOn: cert.expires_on },
    label: { name: cert.name, issuer: cert.issuer },
    fetched,
  }
}

/**
 * The certificate, as far as the caller may see it: account in scope, facts, visibility. A
 * certificate the caller may not see is answered as a missing one, and costs what a missing one
 * costs: for a caller who could see unowned certificates, a missing id is one upstream GET (only
 * the upstream knows it is missing), so another team's certificate is fetched once too and the
 * answer discarded. Status, headers, body, the number of upstream calls and what the budget and
 * the breaker do are then the same for both.
 */
export async function visibleCertificate(
  deps: OwnershipDeps,
  found: Findings,
  accountId: string,
  certificateId: string,
): Promise<KnownCertificate> {
  const { who } = deps
  who.requireAccount(accountId, GatewayError.of('CERTIFICATE_NOT_FOUND'))
  const known = await certificateFacts(deps, found, accountId, certificateId)
  const hidden = who.decide('get', known.facts).effect === 'deny'
  if (hidden && known.fetched === undefined && couldSeeUnowned(who)) {
    await deps.upstream.call(upstreamRequests.get(accountId, certificateId))
  }
  who.requireVisible(found, known.facts)
  return known
}

/**
 * The services using a certificate. An answer that is not a list is an upstream failure (502 from
 * the port, which checks every result), never "none".
 */
export async function associationsOf(
  upstream: Upstream,
  accountId: string,
  certificateId: string,
): Promise<Association[]> {
  return (await upstream.call(upstreamRequests.associations(accountId, certificateId))).result
}

/** A certificate still in use is never deleted: the upstream would refuse, or worse, not. */
export function refuseInUse(associations: Association[]): void {
  if (associations.length === 0) return
  const services = associations
    .map((a) => `${a.service ?? 'unknown'} (${a.status ?? 'unknown'})`)
    .join(', ')
  throw GatewayError.of('CERTIFICATE_IN_USE', {
    message: `The certificate is in use by ${services}; remove those associations before deleting it`,
    headers: { 'x-should-retry': 'false' },
  })
}

/**
 * Issue 21: a certificate read answered from the account snapshot (snapshot/serve.ts `readOne`),
 * as `visibleCertificate` would decide it: the ledger's facts first, the snapshot's second. An id
 * the snapshot does not hold and a certificate the caller may not see are the same "not found",
 * with no upstream call for either. An unowned certificate is adopted only for a caller who could
 * see unowned ones (as `certificateFacts`: the others' lost uploads wait for their team's list).
 */
export async function servedCertificate(
  deps: OwnershipDeps,
  found: Findings,
  { accountId, certificateId }: { accountId: string; certificateId: string },
  read: OneRead & { served: { certificate: MtlsCertificate | null } },
): Promise<KnownCertificate & { fetched: Envelope<MtlsCertificate> }> {
  const cert = read.served.certificate
  const entry = read.owner
  if (cert === null) {
    // Owned, yet absent from a list asked for after its owner was written: deleted outside the
    // gateway. The ledger follows (as followingUpstream does on a 1472), for a caller allowed to
    // read it, without asking the upstream again.
    if (entry !== null && read.fetchedAtMs !== null) {
      const facts = { ownerTeam: entry.team, ca: entry.ca, expiresOn: entry.expires_on }
      const listedAfter = read.fetchedAtMs > Date.parse(entry.assigned_at)
      if (listedAfter && deps.who.decide('get', facts).effect === 'allow') {
        await releaseGone(deps, found, accountId, certificateId, entry.team)
      }
    }
    throw GatewayError.of('CERTIFICATE_NOT_FOUND')
  }
  const fetched = { success: true as const, errors: [], messages: [], result: cert }
  if (entry !== null) {
    const facts = { ownerTeam: entry.team, ca: entry.ca, expiresOn: entry.expires_on }
    deps.who.requireVisible(found, facts)
    return {
      facts,
      label: { name: entry.name, fingerprintSha256: entry.fingerprint_sha256 },
      fetched,
    }
  }
  if (!couldSeeUnowned(deps.who)) throw GatewayError.of('CERTIFICATE_NOT_FOUND')
  const adopted = await adopt(deps, found, accountId, [cert], read.intents)
  const facts = { ownerTeam: adopted.get(cert.id) ?? null, ca: cert.ca, expiresOn: cert.expires_on }
  deps.who.requireVisible(found, facts)
  return { facts, label: { name: cert.name, issuer: cert.issuer }, fetched }
}
