/**
 * Where lifecycle reads an account's certificates (issue 23): a port of its own, so the expiry
 * watch and drift do not care how the list was obtained. Today one upstream list through the
 * job's upstream port (charged to the gateway's reserve as the system principal, kernel/scope-for.ts);
 * at merge the snapshot (issue 21) implements it, and a fresh snapshot then costs no upstream call.
 */
import type { Upstream } from '../upstream/port'
import { upstreamRequests } from '../upstream/request'
import type { MtlsCertificate } from '../upstream/shapes'

export interface CertificateList {
  /** When the list was read from the upstream (ms). */
  fetchedAtMs: number
  certificates: readonly MtlsCertificate[]
}

export interface CertificateSource {
  list(accountId: string): Promise<CertificateList>
}

/** One upstream list per call: one request of the reserve. */
export function upstreamCertificateSource(
  upstream: Upstream,
  now: () => number = Date.now,
): CertificateSource {
  return {
    async list(accountId) {
      const answer = await upstream.call(upstreamRequests.list(accountId, undefined))
      return { fetchedAtMs: now(), certificates: answer.result }
    },
  }
}
