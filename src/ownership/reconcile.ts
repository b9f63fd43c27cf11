/**
 * Adopts certificates that an upload through the gateway created but whose owner was never
 * written (the Worker died, or the coordinator could not be reached, between "the upstream created
 * it" and "the ledger says who owns it"). The upload's intent, written before it was forwarded,
 * names the team.
 *
 * A certificate is adopted only when all of these hold, so that nobody can claim what they did not
 * upload:
 *   - exactly one live intent matches its whole bundle (two teams uploading the same PEM at about
 *     the same time make it ambiguous: it stays unowned, for an admin to assign);
 *   - the upstream created it while that upload was in flight: no earlier than the intent was
 *     written and no later than the upload could have lasted (plus clock skew). An unowned
 *     certificate that existed before can never be claimed by uploading the same public PEM again;
 *   - it is still unowned when the owner is written.
 * The coordinator checks the first and last atomically (coordinator/ledger.ts); this module only
 * finds the candidates, cheapest test first: no intent, no work; a certificate created outside
 * every intent's window is never parsed.
 */
import { inspectCertificates } from '../lib/inspect-pem'
import { CLOCK_SKEW_MS, type AdoptionCandidate, type IntentSummary, type Ledger } from './ledger'

export interface UpstreamCertificate {
  id: string
  certificates?: string | undefined
  uploaded_on?: string | undefined
}

function inSomeWindow(createdMs: number, intents: IntentSummary[], uploadWindowMs: number) {
  return intents.some(
    (i) =>
      createdMs >= i.at_ms - CLOCK_SKEW_MS && createdMs <= i.at_ms + uploadWindowMs + CLOCK_SKEW_MS,
  )
}

async function candidatesOf(
  unowned: UpstreamCertificate[],
  intents: IntentSummary[],
  uploadWindowMs: number,
): Promise<AdoptionCandidate[]> {
  const bundles = new Set(intents.map((i) => i.bundle_sha256))
  const candidates: AdoptionCandidate[] = []
  for (const cert of unowned) {
    const createdMs = Date.parse(cert.uploaded_on ?? '')
    if (Number.isNaN(createdMs) || cert.certificates === undefined) continue
    if (!inSomeWindow(createdMs, intents, uploadWindowMs)) continue
    const inspected = await inspectCertificates(cert.certificates, false)
    if (!inspected.ok || !bundles.has(inspected.value.info.bundleSha256)) continue
    candidates.push({
      id: cert.id,
      bundle_sha256: inspected.value.info.bundleSha256,
      created_ms: createdMs,
    })
  }
  return candidates
}

/**
 * Returns the team that now owns each adopted certificate. Never throws: adoption is best effort,
 * and a certificate it cannot place simply stays unowned (visible to account-wide roles).
 * `uploadWindowMs` is how long an upload can take (the upstream timeout). `beforeChange` runs once,
 * before the coordinator is asked to write an owner (the audit trail records the change first); if
 * it fails, nothing is adopted.
 */
export async function adoptUnowned(
  ledger: Ledger,
  accountId: string,
  unowned: UpstreamCertificate[],
  intents: IntentSummary[],
  uploadWindowMs: number,
  beforeChange: () => Promise<void> = async () => {},
): Promise<Map<string, string>> {
  const adopted = new Map<string, string>()
  if (unowned.length === 0 || intents.length === 0) return adopted
  try {
    const candidates = await candidatesOf(unowned, intents, uploadWindowMs)
    if (candidates.length === 0) return adopted
    await beforeChange()
    for (const { certificate_id, team, request_id } of await ledger.adopt(
      accountId,
      candidates,
      uploadWindowMs,
    )) {
      console.warn(
        `adopted certificate ${certificate_id} for team ${team} from upload ${request_id}`,
      )
      adopted.set(certificate_id, team)
    }
  } catch (error) {
    console.error('adopting unowned certificates failed', error)
  }
  return adopted
}
