/**
 * What the gateway knows about a certificate before it decides: the ledger first (owner, CA or
 * leaf, expiry, recorded at upload), the upstream second (a GET, only when the ledger has no entry;
 * it answers 404 for a certificate that does not exist). Plus the associations a delete needs.
 */
import type { AuditPort, Findings } from '../audit/record'
import type { Principal } from '../identity/principal'
import { GatewayError } from '../lib/errors'
import type { CertificateFacts } from '../policy/decide'
import type { Authorizer } from '../policy/enforce'
import type { Envelope, Upstream } from '../upstream/port'
import { upstreamRequests } from '../upstream/request'
import type { Association, MtlsCertificate } from '../upstream/shapes'
import type { Ledger, UploadIntent } from './ledger'
import { adoptUnowned, type UpstreamCertificate } from './reconcile'

/** The plain inputs every ownership-aware operation runs on. */
export interface OwnershipDeps {
  principal: Principal
  requestId: string
  who: Authorizer
  ledger: Ledger
  upstream: Upstream
  audit: AuditPort
  /** How long an upload can take (the upstream timeout): bounds adoption (reconcile.ts). */
  uploadWindowMs: number
}

/** A ledger that cannot be read must not make certificates look unowned (or owned): fail closed. */
export async function fromLedger<T>(read: Promise<T>): Promise<T> {
  try {
    return await read
  } catch (error) {
    throw GatewayError.of('LEDGER_UNAVAILABLE', {
      message: 'The ownership ledger cannot be read; nothing was forwarded',
      cause: error,
    })
  }
}

/**
 * Adopts what can be adopted among unowned certificates (ownership/reconcile.ts), with the change
 * on the audit record first, and adds each adoption to the findings.
 */
export async function adopt(
  deps: OwnershipDeps,
  found: Findings,
  accountId: string,
  unowned: UpstreamCertificate[],
  intents?: UploadIntent[],
) {
  const adopted = await adoptUnowned(deps.ledger, accountId, unowned, deps.uploadWindowMs, {
    beforeChange: () => deps.audit.beforeChange(found),
    ...(intents ? { intents } : {}),
  })
  for (const [certificate_id, team] of adopted) {
    ;(found.adopted ??= []).push({ certificate_id, team })
  }
  return adopted
}

export interface KnownCertificate {
  facts: CertificateFacts
  /** The upstream's answer, when it had to be asked (the ledger had no entry). */
  fetched?: Envelope<MtlsCertificate>
}

export async function certificateFacts(
  deps: OwnershipDeps,
  found: Findings,
  accountId: string,
  certificateId: string,
): Promise<KnownCertificate> {
  const { ledger, who } = deps
  const entry = await fromLedger(ledger.owner(accountId, certificateId))
  if (entry !== null) {
    return { facts: { ownerTeam: entry.team, ca: entry.ca, expiresOn: entry.expires_on } }
  }
  // Unowned as far as the ledger knows. If no unowned certificate could be visible to the caller
  // whatever it is, and no upload of the caller's team awaits adoption, the answer is "not found"
  // without asking the upstream anything.
  let intents: UploadIntent[] | undefined
  const couldSee = who.decide('get', { ownerTeam: null }, 'optimistic').effect === 'allow'
  if (!couldSee) {
    intents = await fromLedger(ledger.intents(accountId))
    if (!intents.some((intent) => intent.team === deps.principal.teamId)) {
      throw GatewayError.of('CERTIFICATE_NOT_FOUND')
    }
  }
  // Only the upstream can say what it is (404 if nothing).
  const fetched = await deps.upstream.call(upstreamRequests.get(accountId, certificateId))
  const cert = fetched.result
  const adopted = await adopt(deps, found, accountId, [cert], intents)
  return {
    facts: { ownerTeam: adopted.get(cert.id) ?? null, ca: cert.ca, expiresOn: cert.expires_on },
    fetched,
  }
}

/** The certificate, as far as the caller may see it: account in scope, facts, visibility. */
export async function visibleCertificate(
  deps: OwnershipDeps,
  found: Findings,
  accountId: string,
  certificateId: string,
): Promise<KnownCertificate> {
  deps.who.requireAccount(accountId, GatewayError.of('CERTIFICATE_NOT_FOUND'))
  const known = await certificateFacts(deps, found, accountId, certificateId)
  deps.who.requireVisible(found, known.facts)
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
