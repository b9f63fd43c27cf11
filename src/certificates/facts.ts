/**
 * What the gateway knows about a certificate before it decides: the ledger first (owner, CA or
 * leaf, expiry, recorded at upload), the upstream second (a GET, only when the ledger has no entry;
 * it answers 404 for a certificate that does not exist). Plus the associations a delete needs.
 */
import type { Context } from 'hono'
import { recordBeforeForward } from '../audit/middleware'
import type { AppEnv } from '../lib/app-env'
import type { UpstreamEnvelope } from '../lib/envelope'
import { GatewayError } from '../lib/errors'
import { ledger, type Ledger, type UploadIntent } from '../ownership/ledger'
import { adoptUnowned, type UpstreamCertificate } from '../ownership/reconcile'
import type { CertificateFacts } from '../policy/decide'
import { decideFor } from '../policy/enforce'
import { forward } from '../upstream/forward'
import { upstreamRequests } from '../upstream/request'

type Ctx = Context<AppEnv>

export function ledgerFor(c: Ctx): Ledger {
  return ledger(c.env.LEDGER)
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
 * on the audit record first, and notes each adoption on the request's facts.
 */
export async function adopt(
  c: Ctx,
  accountId: string,
  unowned: UpstreamCertificate[],
  intents?: UploadIntent[],
) {
  const adopted = await adoptUnowned(
    ledgerFor(c),
    accountId,
    unowned,
    c.var.config.upstream.timeoutMs,
    { beforeChange: () => recordBeforeForward(c), ...(intents ? { intents } : {}) },
  )
  for (const [certificate_id, team] of adopted) {
    ;(c.var.facts.adopted ??= []).push({ certificate_id, team })
  }
  return adopted
}

export interface KnownCertificate {
  facts: CertificateFacts
  /** The upstream's answer, when it had to be asked (the ledger had no entry). */
  fetched?: UpstreamEnvelope
}

export async function certificateFacts(
  c: Ctx,
  accountId: string,
  certificateId: string,
): Promise<KnownCertificate> {
  const ledger = ledgerFor(c)
  const entry = await fromLedger(ledger.owner(accountId, certificateId))
  if (entry !== null) {
    return { facts: { ownerTeam: entry.team, ca: entry.ca, expiresOn: entry.expires_on } }
  }
  // Unowned as far as the ledger knows. If no unowned certificate could be visible to the caller
  // whatever it is, and no upload of the caller's team awaits adoption, the answer is "not found"
  // without asking the upstream anything.
  let intents: UploadIntent[] | undefined
  const couldSee = decideFor(c, 'get', { ownerTeam: null }, 'optimistic').effect === 'allow'
  if (!couldSee) {
    intents = await fromLedger(ledger.intents(accountId))
    if (!intents.some((intent) => intent.team === c.var.principal.teamId)) {
      throw GatewayError.of('CERTIFICATE_NOT_FOUND')
    }
  }
  // Only the upstream can say what it is (404 if nothing).
  const fetched = await forward(c, upstreamRequests.get(accountId, certificateId))
  const cert = fetched.result as UpstreamCertificate
  const adopted = await adopt(c, accountId, [cert], intents)
  return {
    facts: { ownerTeam: adopted.get(cert.id) ?? null, ca: cert.ca, expiresOn: cert.expires_on },
    fetched,
  }
}

/** The services using a certificate. An answer that is not a list is an upstream failure, never "none". */
export async function associationsOf(c: Ctx, accountId: string, certificateId: string) {
  const envelope = await forward(c, upstreamRequests.associations(accountId, certificateId))
  if (!Array.isArray(envelope.result)) {
    throw GatewayError.of('UPSTREAM_BAD_RESPONSE', {
      message: 'The upstream answered the associations lookup without a list; nothing was deleted',
    })
  }
  return envelope.result as { service?: string; status?: string }[]
}
