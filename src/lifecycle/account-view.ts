/**
 * One account as the expiring list and the team calendar read it (issue 23): its certificates,
 * owners, notices, acknowledgements and successor pairings (with their last checks) for one
 * coordinator round trip, `lifecycleView` on the account's instance. When the policy keeps a
 * snapshot its view comes in that same answer (a stale one is refreshed as any job's read,
 * certificate-source.ts; a list this isolate already holds is not sent again); when it does not,
 * the one upstream list goes beside the round trip, not after it. Both promises are this
 * request's own (CONTRIBUTING: one request never waits on another).
 */
import type { LifecycleView, NoticeStore } from '../coordinator/client'
import { accountSnapshotFrom, askHolding } from '../snapshot/serve'
import type { SnapshotPort } from '../snapshot/port'
import type { Upstream } from '../upstream/port'
import type { MtlsCertificate } from '../upstream/shapes'
import { upstreamCertificateSource } from './certificate-source'

export interface AccountView extends Omit<LifecycleView, 'view'> {
  certificates: readonly MtlsCertificate[]
}

export interface AccountViewDeps {
  upstream: Upstream
  snapshot?: SnapshotPort | undefined
  lifecycle: { notices: NoticeStore }
}

export async function readAccountView(
  deps: AccountViewDeps,
  accountId: string,
): Promise<AccountView> {
  const { snapshot } = deps
  const { notices } = deps.lifecycle
  if (snapshot === undefined) {
    const [list, read] = await Promise.all([
      upstreamCertificateSource(deps.upstream).list(accountId),
      notices.view(accountId, null),
    ])
    const { view: _none, ...rest } = read
    return { ...rest, certificates: list.certificates }
  }
  const { view, ...rest } = await askHolding(accountId, (held) =>
    notices.view(accountId, snapshot.settings, held),
  )
  if (view === null) throw new Error(`${accountId}: the coordinator answered no snapshot view`)
  const { certificates } = await accountSnapshotFrom(snapshot, accountId, view)
  return { ...rest, certificates }
}

/** Every account of the list at once (each its own round trip, side by side), in their order. */
export const readAccountViews = (deps: AccountViewDeps, accounts: readonly string[]) =>
  Promise.all(accounts.map((accountId) => readAccountView(deps, accountId)))
