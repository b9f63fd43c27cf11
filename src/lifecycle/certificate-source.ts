/**
 * Where lifecycle reads an account's certificates (issue 23): a port of its own, so the expiry
 * watch and drift do not care how the list was obtained: one upstream list through the
 * job's upstream port (charged to the gateway's reserve as the system principal, kernel/scope-for.ts)
 * when the snapshot is off; otherwise the account's snapshot (issue 21), so a fresh snapshot costs
 * no upstream call and a stale one one list, single-flight in the coordinator, for every reader.
 */
import type { SnapshotPort } from '../snapshot/port'
import { readAccountSnapshot } from '../snapshot/serve'
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

/** The snapshot when the policy keeps one (snapshot.max_age_seconds > 0), else the upstream. */
export function certificateSourceFor(
  scope: { upstream: Upstream; snapshot?: SnapshotPort | undefined },
  now: () => number = Date.now,
): CertificateSource {
  if (scope.snapshot === undefined) return upstreamCertificateSource(scope.upstream, now)
  return {
    async list(accountId) {
      const { fetchedAtMs, certificates } = await readAccountSnapshot(scope, accountId)
      return { fetchedAtMs, certificates }
    },
  }
}
