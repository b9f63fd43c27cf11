/**
 * The ledger's side of the two changes that create or remove a certificate.
 *
 *   trackUpload     intent written before the upload is forwarded (refused there when a CA
 *                   upload would pass its team's CA quota), at the same time as the pending audit
 *                   entry: both must be in place before anything is forwarded, neither needs the
 *                   other. The owner written and the intent cleared in one step once the upstream
 *                   confirmed it (the caller's next request must find its certificate); the intent
 *                   cleared when nothing was forwarded (the audit entry could not be written) or
 *                   the upstream refused (see coordinator/ledger.ts for why)
 *   releaseOnDelete the owner entry dropped once the upstream has deleted the certificate
 *
 * Both take the upstream call to make as a function, so the change and its bookkeeping cannot be
 * separated by whoever calls them. The clearing and the release are awaited before the answer,
 * not left to `waitUntil`: lost, a release would hold a CA quota slot for ever (the quota counts
 * owner rows) and an intent would hold one for a day and make an adoption ambiguous.
 */
import { GatewayError, detail } from '../lib/errors'
import type { Envelope } from '../upstream/port'
import type { ChainAsk, ChainPosition } from '../audit/chain'
import type { IntentAdmission, Ledger, UploadIntent } from './ledger'

export interface UploadBookkeeping {
  ledger: Ledger
  accountId: string
  team: string
  member: string
  requestId: string
  ca: boolean
  expiresOn: string
  bundleSha256: string
  fingerprintSha256: string
  /** The upload's name, if it had one. */
  name?: string | undefined
  /** The team's CA quota in this account (policy `quotas`), or null for none. */
  caQuota: number | null
  /** Puts the change on the audit record (AuditPort.beforeChange); rejects if it cannot. */
  record: () => Promise<void>
  /**
   * Issue 21 item 3: the same, with the entry's number taken by `take` (AuditPort.beforeChangeWith):
   * given (the audit port numbers ahead), the intent and the number cost one round trip
   * (`Ledger.recordIntentNumbered`); absent, `record` and `recordIntent` run side by side.
   */
  recordWith?:
    | ((take: (ask: ChainAsk | undefined) => Promise<ChainPosition | null>) => Promise<void>)
    | undefined
  /** Issue 21 item 3: starts the upstream call's budget lease now, beside the intent. */
  admitAhead?: (() => void) | undefined
}

const clearing = (what: string) => (error: unknown) => console.error(`${what} failed`, error)

export async function trackUpload<C extends { id: string } & Record<string, unknown>>(
  upload: UploadBookkeeping,
  forward: () => Promise<Envelope<C>>,
): Promise<{ envelope: Envelope<C>; certificateId: string }> {
  const { ledger, accountId, team, member, requestId } = upload
  const intent: UploadIntent = {
    bundle_sha256: upload.bundleSha256,
    team,
    member,
    request_id: requestId,
    at: new Date().toISOString(),
    ca: upload.ca,
    expires_on: upload.expiresOn,
  }
  const admission = await recordAndAdmit(upload, intent)
  if (!admission.admitted) {
    throw GatewayError.of('CA_QUOTA_EXCEEDED', {
      message: `Team ${team} holds ${admission.used} CA certificates in this account (uploads in flight included), its quota is ${upload.caQuota ?? 0}; nothing was forwarded`,
      headers: { 'x-should-retry': 'false' },
    })
  }

  let envelope: Envelope<C>
  try {
    envelope = await forward()
  } catch (error) {
    // A refusal (4xx) created nothing, so its intent goes: left behind, it could later adopt a
    // certificate of the same PEM uploaded by someone else. After a 5xx, a timeout or a dropped
    // connection the certificate may exist: the intent stays, for adoption.
    if (error instanceof GatewayError && error.status < 500) await clear(upload)
    throw error
  }

  const certificateId = envelope.result.id
  try {
    await ledger.confirmUpload(
      accountId,
      certificateId,
      {
        team,
        member,
        request_id: requestId,
        assigned_at: new Date().toISOString(),
        via: 'upload',
        ca: upload.ca,
        expires_on: upload.expiresOn,
        fingerprint_sha256: upload.fingerprintSha256,
        ...(upload.name !== undefined ? { name: upload.name } : {}),
      },
      envelope.result,
    )
  } catch (error) {
    // The certificate exists and nobody owns it yet. Say so to the caller and the log; the intent
    // stays, so the next read that meets the certificate adopts it for this team.
    console.error(
      `certificate ${certificateId} uploaded by ${member} (request ${requestId}) has no ledger entry yet`,
      error,
    )
    const messages = [...envelope.messages, detail('OWNERSHIP_NOT_RECORDED')]
    return { envelope: { ...envelope, messages }, certificateId }
  }
  return { envelope, certificateId }
}

/**
 * The intent admitted (or refused by the CA quota) and the change on the audit record, both before
 * anything is forwarded. An intent written for a change that could not be recorded goes.
 */
async function recordAndAdmit(
  upload: UploadBookkeeping,
  intent: UploadIntent,
): Promise<IntentAdmission> {
  const { ledger, accountId, caQuota, recordWith } = upload
  upload.admitAhead?.()
  if (recordWith !== undefined) {
    let admission: IntentAdmission | undefined
    try {
      await recordWith(async (ask) => {
        // The number must come from the chain's own instance: the account's, as the intent's.
        const answer = await ledger.recordIntentNumbered(
          accountId,
          intent,
          caQuota,
          ask?.chain === accountId ? ask : undefined,
        )
        admission = answer
        if (ask !== undefined && ask.chain !== accountId && answer.admitted) {
          await upload.record()
          return null
        }
        return answer.position
      })
    } catch (error) {
      // Not on the audit record: nothing is forwarded, and an intent that was written goes.
      if (admission?.admitted === true) await clear(upload)
      throw error
    }
    // The recorder always asks `take`; without an answer nothing may be forwarded.
    if (admission === undefined) throw GatewayError.of('AUDIT_UNAVAILABLE')
    return admission
  }
  const [recorded, admitted] = await Promise.allSettled([
    upload.record(),
    ledger.recordIntent(accountId, intent, caQuota),
  ])
  // Not on the audit record: nothing is forwarded, and an intent that was written goes.
  if (recorded.status === 'rejected') {
    if (admitted.status === 'fulfilled' && admitted.value.admitted) await clear(upload)
    throw recorded.reason
  }
  // Unreachable, the coordinator refuses the upload here (503): nothing is forwarded.
  if (admitted.status === 'rejected') throw admitted.reason
  return admitted.value
}

function clear({ ledger, accountId, requestId }: UploadBookkeeping): Promise<void> {
  return ledger.clearIntent(accountId, requestId).catch(clearing('clearing an upload intent'))
}

export async function releaseOnDelete<R>(
  ledger: Ledger,
  accountId: string,
  certificateId: string,
  forward: () => Promise<Envelope<R>>,
): Promise<Envelope<R>> {
  const envelope = await forward()
  // The certificate is gone. A failed release is logged, not answered: the delete happened. Its
  // entry then describes a deleted id and, for a CA, holds a slot of its team's CA quota: nothing
  // prunes it later.
  await ledger.release(accountId, certificateId).catch(clearing('releasing a ledger entry'))
  return envelope
}
