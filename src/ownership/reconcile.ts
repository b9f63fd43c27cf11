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
 *   - the upstream created it while that upload was in flight. The exact rule, with `at` the
 *     intent's time (gateway clock) and `uploaded_on` the upstream's:
 *         at <= uploaded_on <= at + upload window (the upstream timeout) + CLOCK_SKEW_MS
 *     The skew allowance is on the late side only: a certificate stamped even a millisecond
 *     before the intent was written is never adopted, so an unowned certificate that existed
 *     before can never be claimed by uploading the same public PEM again (if the upstream's
 *     clock runs behind the gateway's, a real orphan stays unowned, for an admin to assign:
 *     the safe side);
 *   - it is still unowned when the owner is written.
 * The coordinator checks the first and last atomically (coordinator/ledger.ts); this module only
 * finds the candidates, cheapest test first: no intent, no work; a certificate created outside
 * every intent's window is never parsed; a PEM already read in this isolate is not read again
 * (bundles.ts); and one request reads at most READS_PER_REQUEST.reads PEMs it has not read before
 * and inspects at most READS_PER_REQUEST.inspections matches in full, so a list that meets a
 * thousand fresh candidates (a bulk upload in flight) stays within a Worker's CPU time (a few ms
 * at most, bench/cpu.ts). The rest wait for the next list, which finds the first ones
 * remembered: adoption is eventual anyway (a certificate stays unowned meanwhile, visible to
 * account-wide roles, as when the coordinator cannot be reached).
 */
import { matchingBundle, rememberedMatch, type ReadBudget } from './bundles'
import { CLOCK_SKEW_MS, type AdoptionCandidate, type IntentSummary, type Ledger } from './ledger'

/** What one request may read afresh (bundles.ts ReadBudget): 32 × ~0.1 ms + 2 × ~1 ms. */
export const READS_PER_REQUEST: Readonly<ReadBudget> = { reads: 32, inspections: 2 }

export interface UpstreamCertificate {
  id: string
  certificates?: string | undefined
  uploaded_on?: string | undefined
}

/** The spans in which an upload in flight could have created a certificate, one per intent. */
function windowsOf(intents: IntentSummary[], uploadWindowMs: number): [number, number][] {
  return intents.map((i) => [i.at_ms, i.at_ms + uploadWindowMs + CLOCK_SKEW_MS])
}

function inSomeWindow(createdMs: number, windows: [number, number][]): boolean {
  for (const [from, to] of windows) if (createdMs >= from && createdMs <= to) return true
  return false
}

async function candidatesOf(
  unowned: UpstreamCertificate[],
  intents: IntentSummary[],
  uploadWindowMs: number,
): Promise<AdoptionCandidate[]> {
  const bundles = new Set(intents.map((i) => i.bundle_sha256))
  const windows = windowsOf(intents, uploadWindowMs)
  const candidates: AdoptionCandidate[] = []
  const budget = { ...READS_PER_REQUEST }
  for (const cert of unowned) {
    // Cheapest first: no PEM or no creation time, created outside every upload's window.
    if (cert.certificates === undefined || cert.uploaded_on === undefined) continue
    const createdMs = Date.parse(cert.uploaded_on)
    if (Number.isNaN(createdMs) || !inSomeWindow(createdMs, windows)) continue
    // Then the PEM, read once per isolate (bundles.ts), not once per list; a PEM already read
    // is answered without awaiting anything.
    let bundle = rememberedMatch(cert.id, cert.certificates, bundles)
    bundle ??= await matchingBundle(cert.id, cert.certificates, bundles, budget)
    // Undecided (this request's reading is spent): left for the next list.
    if (bundle === undefined || bundle === null) continue
    candidates.push({ id: cert.id, bundle_sha256: bundle, created_ms: createdMs })
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
