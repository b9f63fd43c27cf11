/**
 * Adopts certificates that an upload through the gateway created but whose owner was never
 * written (the Worker died, or KV failed, between "the upstream created it" and "the ledger says
 * who owns it"). The upload's intent, written before it was forwarded, names the team.
 *
 * A certificate is adopted only when all of these hold, so that nobody can claim what they did not
 * upload:
 *   - exactly one live intent matches its whole bundle (two teams uploading the same PEM at about
 *     the same time make it ambiguous: it stays unowned, for an admin to assign);
 *   - the upstream created it while that upload was in flight: no earlier than the intent was
 *     written and no later than the upload could have lasted (plus clock skew). An unowned
 *     certificate that existed before can never be claimed by uploading the same public PEM again;
 *   - it is still unowned when the owner is about to be written.
 */
import { inspectCertificates } from '../lib/inspect-pem'
import type { Ledger, UploadIntent } from './ledger'

/** Allowed disagreement between the gateway's clock and the upstream's `uploaded_on`. */
const CLOCK_SKEW_MS = 60_000

export interface UpstreamCertificate {
  id: string
  certificates?: string
  uploaded_on?: string
  ca?: boolean
  expires_on?: string
}

async function bundleOf(cert: UpstreamCertificate): Promise<string | undefined> {
  if (cert.certificates === undefined) return undefined
  const inspected = await inspectCertificates(cert.certificates, false)
  return inspected.ok ? inspected.value.info.bundleSha256 : undefined
}

function inFlight(intent: UploadIntent, createdAt: number, uploadWindowMs: number): boolean {
  const start = Date.parse(intent.at)
  return createdAt >= start - CLOCK_SKEW_MS && createdAt <= start + uploadWindowMs + CLOCK_SKEW_MS
}

/**
 * Returns the team that now owns each adopted certificate. Never throws: adoption is best effort,
 * and a certificate it cannot place simply stays unowned (visible to account-wide roles).
 * `uploadWindowMs` is how long an upload can take (the upstream timeout). `beforeChange` runs once,
 * before the first owner is written (the audit trail records the change first); if it fails,
 * nothing is adopted. `intents` saves a list() when the caller has them already.
 */
export async function adoptUnowned(
  ledger: Ledger,
  accountId: string,
  unowned: UpstreamCertificate[],
  uploadWindowMs: number,
  options: {
    beforeChange?: () => Promise<void>
    /** The account's intents, when the caller has already read them. */
    intents?: UploadIntent[]
  } = {},
): Promise<Map<string, string>> {
  const { beforeChange = async () => {} } = options
  const adopted = new Map<string, string>()
  if (unowned.length === 0) return adopted
  try {
    const intents = options.intents ?? (await ledger.intents(accountId))
    if (intents.length === 0) return adopted
    for (const cert of unowned) {
      const createdAt = Date.parse(cert.uploaded_on ?? '')
      const bundle = await bundleOf(cert)
      if (bundle === undefined || Number.isNaN(createdAt)) continue
      const candidates = intents.filter(
        (i) => i.bundle_sha256 === bundle && inFlight(i, createdAt, uploadWindowMs),
      )
      if (candidates.length !== 1) {
        if (candidates.length > 1) {
          console.warn(
            `certificate ${cert.id} matches ${candidates.length} uploads; left unowned for an admin`,
          )
        }
        continue
      }
      const intent = candidates[0]!
      if ((await ledger.owner(accountId, cert.id)) !== null) continue
      if (adopted.size === 0) await beforeChange()
      await ledger.assign(accountId, cert.id, {
        team: intent.team,
        member: intent.member,
        request_id: intent.request_id,
        assigned_at: new Date().toISOString(),
        via: 'adopt',
        ca: intent.ca,
        expires_on: intent.expires_on,
      })
      await ledger.clearIntent(accountId, intent)
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
