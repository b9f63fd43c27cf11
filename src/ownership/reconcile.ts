/**
 * Adopts certificates that an upload through the gateway created but whose ledger entry was never
 * written (the Worker died, or KV failed, between "the upstream created it" and "the ledger says
 * who owns it"). The upload's intent, written before it was forwarded, names the team.
 *
 * A certificate is adopted only if its fingerprint matches an intent AND the upstream created it
 * after the intent was written: an unowned certificate that existed before (uploaded outside the
 * gateway) can never be claimed by uploading the same public PEM again.
 */
import { inspectCertificates } from '../certificates/inspect-pem'
import type { Ledger } from './ledger'

/** Allowed disagreement between the gateway's clock and the upstream's `uploaded_on`. */
const CLOCK_SKEW_MS = 60_000

export interface UpstreamCertificate {
  id: string
  certificates?: string
  uploaded_on?: string
  ca?: boolean
  expires_on?: string
}

/** Returns the team that now owns each adopted certificate. Never throws: adoption is best effort. */
export async function adoptUnowned(
  ledger: Ledger,
  accountId: string,
  unowned: UpstreamCertificate[],
): Promise<Map<string, string>> {
  const adopted = new Map<string, string>()
  if (unowned.length === 0) return adopted
  try {
    const intents = await ledger.intents(accountId)
    if (intents.length === 0) return adopted
    for (const cert of unowned) {
      if (cert.certificates === undefined || cert.uploaded_on === undefined) continue
      const inspected = await inspectCertificates(cert.certificates, false)
      if (!inspected.ok) continue
      const intent = intents.find(
        (i) =>
          i.fingerprint_sha256 === inspected.value.info.fingerprintSha256 &&
          Date.parse(cert.uploaded_on!) >= Date.parse(i.at) - CLOCK_SKEW_MS,
      )
      if (intent === undefined) continue
      await ledger.assign(accountId, cert.id, {
        team: intent.team,
        member: intent.member,
        request_id: intent.request_id,
        assigned_at: new Date().toISOString(),
        via: 'adopt',
        ca: intent.ca,
        expires_on: intent.expires_on,
        fingerprint_sha256: intent.fingerprint_sha256,
      })
      await ledger.clearIntent(accountId, intent.fingerprint_sha256)
      console.warn(
        `adopted certificate ${cert.id} for team ${intent.team} from upload ${intent.request_id}`,
      )
      adopted.set(cert.id, intent.team)
    }
  } catch (error) {
    console.error('adopting unowned certificates failed', error)
  }
  return adopted
}
