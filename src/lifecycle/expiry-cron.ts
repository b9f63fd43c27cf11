/**
 * The expiry watch's schedule (wrangler.toml `[triggers]`, index.ts `scheduled`): a job, not a
 * request, so it builds its scope as the request pipe does (kernel/scope-for.ts) as the gateway's
 * system principal, who reads each account's snapshot (an upstream list only when it is stale, or off, charged to the
 * reserve), and
 * runs `watchExpiry` (watch.ts) on ports taken from that scope. Channels come from the
 * LIFECYCLE_CHANNELS secret (channels.ts), never from the policy.
 */
import { configFor } from '../config'
import { coordinatedChains, coordinatedNotices } from '../coordinator/client'
import { SYSTEM_PRINCIPAL, scopeFor } from '../kernel/scope-for'
import { uuidv7 } from '../lib/uuidv7'
import { accountsOf } from '../policy/document'
import { certificateSourceFor } from './certificate-source'
import { parseChannels } from './channels'
import { lifecycleRecorder } from './record'
import { checkSuccessor, keepCheck } from './rotation'
import { auditLogRequest } from './drift'
import type { Pairing } from '../coordinator/notices'
import { deliverDue, watchExpiry, type WatchDeps, type WatchReport } from './watch'

/** Every five minutes: notices due, and retries whose backoff has passed. */
export const EXPIRY_WATCH_CRON = '*/5 * * * *'

/** The watch's ports, from the job's scope (tests pass their own clock and sender). */
export function expiryWatchDeps(env: Env, now: () => number = Date.now): WatchDeps {
  const config = configFor(env)
  const requestId = uuidv7()
  const scope = scopeFor({ env, config, principal: SYSTEM_PRINCIPAL, requestId })
  const { channels, problem } = parseChannels(env.LIFECYCLE_CHANNELS)
  if (problem !== undefined) console.error(`expiry watch: ${problem}`)
  const chains = coordinatedChains(env.COORDINATOR, config.audit.retentionDays)
  const notices = coordinatedNotices(env.COORDINATOR)
  // This run's pairings per account: values, read once per run (no promise is shared).
  const pairings = new Map<string, Pairing[]>()
  return {
    accounts: accountsOf(config.policy),
    source: certificateSourceFor(scope, now),
    owners: async (accountId) => (await scope.ledger.owners(accountId)).owners,
    notices,
    channels,
    // A certificate with a ready successor is handled: no notice, no escalation (rotation.ts).
    // What the check found is kept beside the pairing, for the expiring list and page.
    async handled(accountId, certificate) {
      if (!pairings.has(accountId)) pairings.set(accountId, await notices.pairings(accountId))
      const pairing = pairings.get(accountId)!.find((p) => p.certificate_id === certificate.id)
      if (pairing === undefined) return false
      const check = await checkSuccessor(scope.upstream, accountId, pairing, now(), 'watch')
      await keepCheck(notices, accountId, pairing, check)
      return check.ready
    },
    settings: config.policy.lifecycle,
    record: lifecycleRecorder(env.AUDIT, config.audit, chains, now),
    // Drift: between this run's list (the snapshot) and the last run's, kept on the coordinator.
    auditLog: async (accountId, sinceMs, beforeMs) =>
      (await scope.upstream.call(auditLogRequest(accountId, sinceMs, beforeMs))).result,
    requestId,
  }
}

export async function expiryWatchJob(env: Env, now: Date): Promise<WatchReport> {
  const report = await watchExpiry(expiryWatchDeps(env), now.getTime())
  for (const problem of report.problems) console.error(`expiry watch: ${problem}`)
  return report
}

/**
 * The coordinator's alarm rang for `accountId` (coordinator/notice-alarm.ts; src/index.ts
 * registers this): deliver what is due now, as a run of the watch would, under its own run id.
 */
export async function deliverDueNotices(env: Env, accountId: string, nowMs: number): Promise<void> {
  const report = await deliverDue(
    expiryWatchDeps(env, () => nowMs),
    accountId,
    nowMs,
  )
  for (const problem of report.problems) console.error(`notice delivery: ${problem}`)
}
