/**
 * Drift, recorded (issue 23): whoever saw an outside change (a snapshot refresh, through
 * `driftOnRefresh`, or the expiry watch between two of its runs) asks the account's coordinator
 * for it first. The coordinator grants each (certificate, change) once, and drops what the ledger
 * says the gateway did (an owned certificate that appeared) or cannot tell from it (an unowned one
 * that vanished), in the same step. Only what was granted costs anything: one page of the account's
 * audit log for the whole batch (the budget: at most one page per refresh that found drift), one
 * chained entry per change, attributed to its actor (drift.ts `attribute`), and a notice to the
 * owning team's channels, or the platform's for an unowned certificate.
 *
 * A caller that dies between the grant and the entries loses its claim after DRIFT_CLAIM_MS
 * (coordinator/notices.ts): the watch, comparing its own last list, finds the change again.
 */
import type { NoticeStore } from '../coordinator/client'
import type { NoticeAsk } from '../coordinator/notices'
import type { LifecycleSettings } from '../policy/document'
import type { RefreshedHook } from '../snapshot/port'
import type { MtlsCertificate } from '../upstream/shapes'
import type { NoticeMessage } from './channels'
import { attribute, type AuditLogEntry, type Drift } from './drift'
import type { LifecycleRecorder } from './record'

/** The team of certificates no team owns: the platform's channels hear about them. */
export const PLATFORM = '_platform'

export interface DriftDeps {
  notices: NoticeStore
  settings: LifecycleSettings
  record: LifecycleRecorder
  /** The refreshing request's id, or the watch run's: the entries carry it. */
  requestId: string
  /** One page of the account's audit log between the two lists (drift.ts auditLogRequest). */
  auditLog(accountId: string, sinceMs: number, beforeMs: number): Promise<AuditLogEntry[]>
  now?: () => number
}

/**
 * Records the changes of `drift` this caller is granted; answers how many. `sinceMs`/`beforeMs`
 * bound the audit-log page (the two lists' times).
 */
export async function recordDrift(
  deps: DriftDeps,
  accountId: string,
  drift: readonly Drift[],
  sinceMs: number,
  beforeMs: number,
): Promise<number> {
  if (drift.length === 0) return 0
  const nowMs = (deps.now ?? Date.now)()
  const keys = drift.map((d) => ({ certificate_id: d.certificate_id, change: d.change }))
  const granted = await deps.notices.claimDrift(accountId, keys, nowMs)
  if (granted.length === 0) return 0
  const certificateOf = new Map(drift.map((d) => [`${d.certificate_id}|${d.change}`, d]))
  const mine: Drift[] = granted.map((g) => ({
    ...certificateOf.get(`${g.certificate_id}|${g.change}`)!,
    // The coordinator's word on the owner, read in the step that granted the change.
    team: g.team,
  }))
  let page: AuditLogEntry[] = []
  try {
    page = await deps.auditLog(accountId, sinceMs, beforeMs)
  } catch {
    // Unattributed rather than unrecorded: the entry says a change happened, with no actor.
  }
  const asks: NoticeAsk[] = []
  for (const d of attribute(mine, page)) {
    await deps.record({
      kind: 'drift',
      accountId,
      ...(d.team !== null ? { team: d.team } : {}),
      member: '_gateway',
      via: 'system',
      action: 'drift',
      requestId: deps.requestId,
      lifecycle: {
        certificate_id: d.certificate_id,
        horizon: d.change,
        ...(d.certificate.expires_on ? { expires_on: d.certificate.expires_on } : {}),
        ...(d.actor ? { actor: d.actor } : {}),
      },
    })
    const team = d.team ?? PLATFORM
    const channels =
      d.team !== null
        ? (deps.settings.teams[d.team]?.channels ?? deps.settings.platform_channels)
        : deps.settings.platform_channels
    const who = d.actor
      ? (d.actor.token_name ?? d.actor.email ?? d.actor.token_id ?? d.actor.context)
      : 'an unknown actor'
    for (const channel of channels) {
      const message: NoticeMessage = {
        id: `msg_${crypto.randomUUID()}`,
        type: 'certificate.drift',
        team,
        account_id: accountId,
        certificate_id: d.certificate_id,
        ...(d.certificate.name ? { certificate_name: d.certificate.name } : {}),
        horizon: d.change,
        text: `Certificate ${d.certificate_id} ${d.change} outside the gateway, by ${who}.`,
      }
      asks.push({
        id: message.id,
        certificate_id: d.certificate_id,
        horizon: `drift:${d.change}`,
        channel,
        kind: 'drift',
        team,
        message: JSON.stringify(message),
      })
    }
  }
  if (asks.length > 0) await deps.notices.queue(accountId, asks, nowMs)
  await deps.notices.settleDrift(accountId, granted, nowMs)
  return granted.length
}

/** The ids of `current` not in `previous` (appeared) and of `previous` not in `current` (vanished). */
export function changesBetween(
  previous: readonly MtlsCertificate[],
  current: readonly MtlsCertificate[],
): Drift[] {
  const before = new Map(previous.map((c) => [c.id, c]))
  const now = new Map(current.map((c) => [c.id, c]))
  const drift: Drift[] = []
  for (const [id, certificate] of now) {
    if (!before.has(id))
      drift.push({ certificate_id: id, change: 'appeared', team: null, certificate })
  }
  for (const [id, certificate] of before) {
    if (!now.has(id))
      drift.push({ certificate_id: id, change: 'vanished', team: null, certificate })
  }
  return drift
}

/**
 * Drift on each snapshot refresh (snapshot/serve.ts calls the port's `refreshed`): the snapshot
 * before the refresh (the last list and the gateway's own writes through it) against the list
 * just stored. Nothing changed by ids: no coordinator call, no upstream call.
 */
export function driftOnRefresh(deps: DriftDeps): RefreshedHook {
  return async (accountId, previous, current) => {
    if (previous === null) return
    const drift = changesBetween(previous.certificates, current.certificates)
    await recordDrift(deps, accountId, drift, previous.fetchedAtMs, current.fetchedAtMs)
  }
}
