/**
 * Rotation pairing (issue 23): a team names a successor for one of its certificates; from then
 * on, a delete of the old one goes through only when the successor exists, has not expired, and
 * is in use by every service the old one served when the successor was named (its associations
 * then: by the time of the delete the old one has none, or the upstream would refuse anyway).
 * This is what Cloudflare does not check: it refuses a delete only while the certificate itself
 * is in use, so without this a team could delete the old CA the moment the new one is uploaded.
 *
 * The same check, `checkSuccessor`, tells the expiry watch that a certificate is handled. What a
 * check found is kept beside the pairing (`keepCheck`), so the expiring list and page show the
 * successor's readiness and its age without checking again per view.
 */
import type { NoticeStore } from '../coordinator/client'
import type { Pairing, SuccessorCheck } from '../coordinator/notices'
import { GatewayError } from '../lib/errors'
import type { Upstream } from '../upstream/port'
import { upstreamRequests } from '../upstream/request'

/** Checks the named successor now: two upstream calls (the successor, its associations). */
export async function checkSuccessor(
  upstream: Upstream,
  accountId: string,
  pairing: Pairing,
  nowMs: number,
  by: SuccessorCheck['by'],
): Promise<SuccessorCheck> {
  const found = (reason: SuccessorCheck['reason'], more: Partial<SuccessorCheck> = {}) => ({
    at: nowMs,
    by,
    ready: reason === null,
    reason,
    missing_services: [],
    ...more,
  })
  let expiresOn: string | undefined
  try {
    expiresOn = (await upstream.call(upstreamRequests.get(accountId, pairing.successor_id))).result
      .expires_on
  } catch (error) {
    if (error instanceof GatewayError && error.status === 404) return found('missing')
    throw error
  }
  if (expiresOn !== undefined && Date.parse(expiresOn) <= nowMs) {
    return found('expired', { expires_on: expiresOn })
  }
  const served = (
    await upstream.call(upstreamRequests.associations(accountId, pairing.successor_id))
  ).result.map((a) => a.service ?? 'unknown')
  const missing = pairing.services.filter((service) => !served.includes(service))
  return missing.length === 0 ? found(null) : found('not_in_use', { missing_services: missing })
}

/** The check in words (the gate's refusal, the naming's `problem`), or undefined when ready. */
export function problemOf(pairing: Pairing, check: SuccessorCheck): string | undefined {
  const successor = `its successor ${pairing.successor_id}`
  switch (check.reason) {
    case null:
      return undefined
    case 'missing':
      return `${successor} no longer exists`
    case 'expired':
      return `${successor} expired on ${check.expires_on ?? 'an unknown date'}`
    case 'not_in_use':
      return `${successor} is not yet in use by ${check.missing_services.join(', ')}`
  }
}

/**
 * Keeps a check beside its pairing for the expiring list and page. A display aid, not a gate: a
 * coordinator that cannot keep it is logged and the caller goes on with what the check found.
 */
export async function keepCheck(
  notices: NoticeStore,
  accountId: string,
  pairing: Pairing,
  check: SuccessorCheck,
): Promise<void> {
  try {
    await notices.recordCheck(accountId, pairing.certificate_id, pairing.successor_id, check)
  } catch (error) {
    console.error(`successor check of ${pairing.certificate_id} not kept`, error)
  }
}

/** The gate before a delete: refuses (409/18391) while the named successor is not ready. */
export async function requireRotationReady(
  deps: { upstream: Upstream; lifecycle?: { notices: NoticeStore } },
  accountId: string,
  certificateId: string,
  nowMs: number = Date.now(),
): Promise<void> {
  if (deps.lifecycle === undefined) return
  const { notices } = deps.lifecycle
  const pairing = (await notices.pairings(accountId)).find(
    (p) => p.certificate_id === certificateId,
  )
  if (pairing === undefined) return
  const check = await checkSuccessor(deps.upstream, accountId, pairing, nowMs, 'delete')
  await keepCheck(notices, accountId, pairing, check)
  const problem = problemOf(pairing, check)
  if (problem !== undefined) {
    throw GatewayError.of('ROTATION_NOT_READY', {
      message: `Not deleted: ${problem}`,
      headers: { 'x-should-retry': 'false' },
    })
  }
}
