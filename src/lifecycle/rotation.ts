/**
 * Rotation pairing (issue 23): a team names a successor for one of its certificates; from then
 * on, a delete of the old one goes through only when the successor exists, has not expired, and
 * is in use by every service the old one served when the successor was named (its associations
 * then: by the time of the delete the old one has none, or the upstream would refuse anyway).
 * This is what Cloudflare does not check: it refuses a delete only while the certificate itself
 * is in use, so without this a team could delete the old CA the moment the new one is uploaded.
 *
 * The same test, `successorProblem`, tells the expiry watch that a certificate is handled.
 */
import type { NoticeStore } from '../coordinator/client'
import type { Pairing } from '../coordinator/notices'
import { GatewayError } from '../lib/errors'
import type { Upstream } from '../upstream/port'
import { upstreamRequests } from '../upstream/request'

/** Why the successor is not ready yet, or undefined when it is. */
export async function successorProblem(
  upstream: Upstream,
  accountId: string,
  pairing: Pairing,
  nowMs: number,
): Promise<string | undefined> {
  let expiresOn: string | undefined
  try {
    expiresOn = (await upstream.call(upstreamRequests.get(accountId, pairing.successor_id))).result
      .expires_on
  } catch (error) {
    if (error instanceof GatewayError && error.status === 404) {
      return `its successor ${pairing.successor_id} no longer exists`
    }
    throw error
  }
  if (expiresOn !== undefined && Date.parse(expiresOn) <= nowMs) {
    return `its successor ${pairing.successor_id} expired on ${expiresOn}`
  }
  const served = (
    await upstream.call(upstreamRequests.associations(accountId, pairing.successor_id))
  ).result.map((a) => a.service ?? 'unknown')
  const missing = pairing.services.filter((service) => !served.includes(service))
  return missing.length === 0
    ? undefined
    : `its successor ${pairing.successor_id} is not yet in use by ${missing.join(', ')}`
}

/** The gate before a delete: refuses (409/18391) while the named successor is not ready. */
export async function requireRotationReady(
  deps: { upstream: Upstream; lifecycle?: { notices: NoticeStore } },
  accountId: string,
  certificateId: string,
  nowMs: number = Date.now(),
): Promise<void> {
  if (deps.lifecycle === undefined) return
  const pairing = (await deps.lifecycle.notices.pairings(accountId)).find(
    (p) => p.certificate_id === certificateId,
  )
  if (pairing === undefined) return
  const problem = await successorProblem(deps.upstream, accountId, pairing, nowMs)
  if (problem !== undefined) {
    throw GatewayError.of('ROTATION_NOT_READY', {
      message: `Not deleted: ${problem}`,
      headers: { 'x-should-retry': 'false' },
    })
  }
}
