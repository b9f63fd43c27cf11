/**
 * The expiry watch (issue 23), one run: for each account, read its certificates (the
 * CertificateSource), find the horizon each stands at (horizons.ts) and the team that owns it (the
 * ledger; unowned ones go to the platform's channels), queue the notices that are due on the
 * coordinator (exactly one row per certificate, horizon, channel and kind, whatever the overlap
 * between runs), then send what is due and leased to this run, settling each attempt on the
 * coordinator (backoff, and `dead` where undeliverable notices wait). Every attempt of a notice or
 * an escalation goes on the audit chain (record.ts): each failure, then its delivery or giving up.
 *
 * Escalation: when a certificate reaches a horizon and the notice of the horizon before it was
 * not acknowledged, nor the certificate handled (deleted, or a healthy successor named: `handled`),
 * the team's escalation channels are told; when a team escalation of an earlier horizon was not
 * acknowledged either, the platform's channels are.
 *
 * Plain inputs in (ports), a report out: the cron (expiry-cron.ts) builds them from the job's scope.
 */
import type { NoticeStore } from '../coordinator/client'
import type { NoticeAsk, NoticeKind, NoticeRow } from '../coordinator/notices'
import type { LifecycleSettings } from '../policy/document'
import type { MtlsCertificate } from '../upstream/shapes'
import type { CertificateList, CertificateSource } from './certificate-source'
import { deliver, type Channels, type NoticeMessage } from './channels'
import { daysLeft, EXPIRED, horizonAt, horizonLabels } from './horizons'
import { driftBetween, type AuditLogEntry } from './drift'
import { PLATFORM, recordDrift as recordGranted } from './drift-record'
import type { LifecycleRecorder } from './record'

/** The team of certificates no team owns (drift-record.ts). */
export { PLATFORM }
/** How many due notices one run sends per account (the rest wait for the next run). */
const SENDS_PER_RUN = 50

export interface WatchDeps {
  accounts: readonly string[]
  source: CertificateSource
  owners(accountId: string): Promise<ReadonlyMap<string, string>>
  notices: NoticeStore
  channels: Channels
  settings: LifecycleSettings
  record: LifecycleRecorder
  /** The run's id: its audit entries carry it. */
  requestId: string
  /** A certificate already taken care of (a healthy successor, issue 23 item 4). */
  handled?(
    accountId: string,
    certificate: MtlsCertificate,
    all: readonly MtlsCertificate[],
  ): Promise<boolean>
  send?: typeof deliver
  /** Drift: one page of the account's audit log between two lists (drift.ts); absent: no drift. */
  auditLog?(accountId: string, sinceMs: number, beforeMs: number): Promise<AuditLogEntry[]>
}

export interface WatchReport {
  queued: number
  drifted: number
  delivered: number
  retrying: number
  dead: number
  problems: string[]
}

const MESSAGE_TYPE: Record<NoticeKind, NoticeMessage['type']> = {
  notice: 'certificate.expiring',
  escalation: 'certificate.escalation',
  platform_escalation: 'certificate.escalation',
  drift: 'certificate.drift',
}

function textOf(
  kind: NoticeKind,
  team: string,
  cert: MtlsCertificate,
  horizon: string,
  left: number,
) {
  const name = cert.name ? `"${cert.name}" (${cert.id})` : cert.id
  const when =
    horizon === EXPIRED
      ? `expired on ${cert.expires_on}`
      : `expires in ${left} day(s), on ${cert.expires_on}`
  const prefix = kind === 'notice' ? '' : `Escalation: nobody acted on the last notice to ${team}. `
  return `${prefix}Certificate ${name} of team ${team} ${when}.`
}

/** The notices due for one certificate now (see the file comment for escalation). */
function asksFor(
  settings: LifecycleSettings,
  team: string,
  cert: MtlsCertificate,
  accountId: string,
  nowMs: number,
  existing: readonly NoticeRow[],
  acked: ReadonlySet<string>,
): NoticeAsk[] {
  const own = team === PLATFORM ? undefined : settings.teams[team]
  const days = own?.horizons_days ?? settings.horizons_days
  const expiresMs = Date.parse(cert.expires_on ?? '')
  const horizon = horizonAt(expiresMs, nowMs, days)
  if (horizon === undefined) return []
  const labels = horizonLabels(days)
  const index = labels.indexOf(horizon)
  const left = daysLeft(expiresMs, nowMs)
  const mine = existing.filter((n) => n.certificate_id === cert.id)
  const earlier = (kind: NoticeKind) =>
    mine
      .filter(
        (n) =>
          n.kind === kind && labels.indexOf(n.horizon) >= 0 && labels.indexOf(n.horizon) < index,
      )
      .map((n) => labels.indexOf(n.horizon))
  // Acknowledged at or after a horizon: the team knew by then.
  const ackedSince = (i: number) => labels.slice(i).some((h) => acked.has(`${cert.id}|${h}`))

  const asks: NoticeAsk[] = []
  const ask = (kind: NoticeKind, channels: readonly string[]) => {
    for (const channel of channels) {
      const message: NoticeMessage = {
        id: `msg_${crypto.randomUUID()}`,
        type: horizon === EXPIRED && kind === 'notice' ? 'certificate.expired' : MESSAGE_TYPE[kind],
        team,
        account_id: accountId,
        certificate_id: cert.id,
        ...(cert.name ? { certificate_name: cert.name } : {}),
        ...(cert.expires_on ? { expires_on: cert.expires_on } : {}),
        horizon,
        days_left: left,
        text: textOf(kind, team, cert, horizon, left),
      }
      asks.push({
        id: message.id,
        certificate_id: cert.id,
        horizon,
        channel,
        kind,
        team,
        message: JSON.stringify(message),
      })
    }
  }
  ask('notice', own?.channels ?? (team === PLATFORM ? settings.platform_channels : []))
  const noticed = earlier('notice')
  if (noticed.length > 0 && !ackedSince(Math.max(...noticed))) {
    if (own) ask('escalation', own.escalation_channels)
    const escalated = earlier('escalation')
    if (escalated.length > 0 || !own || own.escalation_channels.length === 0) {
      ask('platform_escalation', settings.platform_channels)
    }
  }
  return asks
}

/** One run of the watch over every account. */
export async function watchExpiry(deps: WatchDeps, nowMs: number): Promise<WatchReport> {
  const report: WatchReport = {
    queued: 0,
    drifted: 0,
    delivered: 0,
    retrying: 0,
    dead: 0,
    problems: [],
  }
  const send = deps.send ?? deliver
  for (const accountId of deps.accounts) {
    try {
      const list = await deps.source.list(accountId)
      const { certificates } = list
      const owners = await deps.owners(accountId)
      report.drifted += await recordDrift(deps, accountId, list, owners, nowMs)
      const { notices, acks } = await deps.notices.list(accountId)
      const acked = new Set(acks.map((a) => `${a.certificate_id}|${a.horizon}`))
      const asks: NoticeAsk[] = []
      for (const cert of certificates) {
        if (cert.expires_on === undefined || Number.isNaN(Date.parse(cert.expires_on))) continue
        const team = owners.get(cert.id) ?? PLATFORM
        // Only a certificate at a horizon can need a notice; only then is its successor checked
        // (two upstream calls), so far-off pairings cost nothing.
        const days = deps.settings.teams[team]?.horizons_days ?? deps.settings.horizons_days
        if (horizonAt(Date.parse(cert.expires_on), nowMs, days) === undefined) continue
        if (deps.handled && (await deps.handled(accountId, cert, certificates))) continue
        asks.push(...asksFor(deps.settings, team, cert, accountId, nowMs, notices, acked))
      }
      if (asks.length > 0)
        report.queued += (await deps.notices.queue(accountId, asks, nowMs)).length
      await sendDue(deps, send, accountId, nowMs, report)
    } catch (error) {
      report.problems.push(
        `${accountId}: ${error instanceof Error ? error.message : String(error)}`,
      )
    }
  }
  return report
}

/**
 * Only the sending half, for one account: what the coordinator's alarm asks for when a retry is
 * due (coordinator/notice-alarm.ts), without listing certificates or queueing anything.
 */
export async function deliverDue(
  deps: WatchDeps,
  accountId: string,
  nowMs: number,
): Promise<WatchReport> {
  const report: WatchReport = {
    queued: 0,
    drifted: 0,
    delivered: 0,
    retrying: 0,
    dead: 0,
    problems: [],
  }
  await sendDue(deps, deps.send ?? deliver, accountId, nowMs, report)
  return report
}

/** Sends what is due and leased to this run; settles and records each attempt. */
async function sendDue(
  deps: WatchDeps,
  send: typeof deliver,
  accountId: string,
  nowMs: number,
  report: WatchReport,
) {
  for (const row of await deps.notices.claim(accountId, SENDS_PER_RUN, nowMs)) {
    const channel = deps.channels.get(row.channel)
    const message = JSON.parse(row.message) as NoticeMessage
    const result = channel
      ? await send(channel, message, nowMs)
      : { ok: false as const, reason: `no channel "${row.channel}" in LIFECYCLE_CHANNELS` }
    const settled = await deps.notices.settle(
      accountId,
      row.id,
      result,
      nowMs,
      deps.settings.retry_base_seconds * 1000,
    )
    if (settled === null) continue
    if (settled.state === 'pending') report.retrying++
    else if (settled.state === 'delivered') report.delivered++
    else report.dead++
    // Every attempt that settles is on the chain: each failure (why, and when the next is due),
    // then the delivery or the giving up. The reason is a status or "unreachable", never a URL.
    await deps.record({
      // A drift notice's delivery is a notice (horizon `drift:…`); the drift entry is recordDrift's.
      kind: row.kind === 'notice' || row.kind === 'drift' ? 'notice' : 'escalation',
      accountId,
      ...(row.team !== PLATFORM ? { team: row.team } : {}),
      member: '_gateway',
      via: 'system',
      action: 'expiry_watch',
      requestId: deps.requestId,
      lifecycle: {
        certificate_id: row.certificate_id,
        horizon: row.horizon,
        channel: row.channel,
        notice_id: row.id,
        delivery:
          settled.state === 'delivered'
            ? 'delivered'
            : settled.state === 'pending'
              ? 'failed'
              : 'undeliverable',
        attempts: settled.attempts,
        ...(settled.state !== 'delivered' && settled.last_reason !== null
          ? { reason: settled.last_reason }
          : {}),
        ...(settled.state === 'pending'
          ? { next_attempt_at: new Date(settled.next_at).toISOString() }
          : {}),
        ...(message.expires_on ? { expires_on: message.expires_on } : {}),
      },
    })
  }
}

/**
 * Drift between this run's list and the last one the watch saw (drift.ts): each change is an
 * entry of its own kind, attributed from one page of the account's audit log, and a notice to the
 * owning team's channels (the platform's for an unowned certificate). A change a snapshot refresh
 * already recorded is not granted again (drift-record.ts: the coordinator grants each once).
 */
async function recordDrift(
  deps: WatchDeps,
  accountId: string,
  list: CertificateList,
  owners: ReadonlyMap<string, string>,
  nowMs: number,
): Promise<number> {
  const auditLog = deps.auditLog
  if (auditLog === undefined) return 0
  const slim = {
    fetchedAtMs: list.fetchedAtMs,
    certificates: list.certificates.map((c) => ({
      id: c.id,
      ...(c.name ? { name: c.name } : {}),
      ...(c.ca !== undefined ? { ca: c.ca } : {}),
      ...(c.expires_on ? { expires_on: c.expires_on } : {}),
    })),
  }
  // The same call drops drift claims older than 90 days (coordinator/notices.ts DRIFT_KEEP_MS).
  const stored = await deps.notices.swapSeen(accountId, JSON.stringify(slim), nowMs)
  const previous = stored === null ? undefined : (JSON.parse(stored) as CertificateList)
  const drift = driftBetween(previous, list, { owners })
  if (previous === undefined || drift.length === 0) return 0
  return recordGranted(
    { ...deps, auditLog, now: () => nowMs },
    accountId,
    drift,
    previous.fetchedAtMs,
    list.fetchedAtMs,
  )
}
