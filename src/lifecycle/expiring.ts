/**
 * What expires, and acknowledging a notice (issue 23): the operations behind
 * `GET /gateway/v1/expiring` and `POST /gateway/v1/accounts/{account_id}/mtls_certificates/{id}/acknowledge`.
 *
 * The list covers the caller's team's accounts and shows each certificate the policy lets the
 * caller list (its own team's; every one for account-wide roles), expiring within the window,
 * soonest first, with its owner, the horizon it stands at and its notices (state per channel) and
 * acknowledgements, and the successor its team named with what the last check of it found (kept by
 * the expiry watch, the rotation gate and the naming: a list costs no association call). It reads
 * each account in one coordinator round trip (account-view.ts): the account's snapshot with it, or
 * one upstream list beside it when the policy turns the snapshot off.
 *
 * An acknowledgement says the team knows: a notice at that horizon must exist, the caller must be
 * able to see the certificate (as for `get`), and it goes on the chain (an `acknowledgement` entry)
 * before it is stored, so an acknowledgement that is not on record does not exist. It stops the
 * escalation of that notice (watch.ts).
 */
import { run, type Findings, type Outcome } from '../kernel/operation'
import type { RequestScope } from '../kernel/scope'
import { GatewayError } from '../lib/errors'
import { calendarPath, calendarToken } from './calendar'
import type { Pairing, SuccessorCheck } from '../coordinator/notices'
import { readAccountViews } from './account-view'
import { daysLeft, horizonAt } from './horizons'

export interface ExpiringNotice {
  horizon: string
  channel: string
  kind: string
  state: string
  attempts: number
}

/** What the last check of the named successor found, and how old that finding is. */
export interface SuccessorReadiness {
  ready: boolean
  /** Why not: `missing` (gone), `expired`, `not_in_use` (by `missing_services`). */
  reason: SuccessorCheck['reason']
  missing_services: string[]
  expires_on?: string
  checked_at: string
  checked_by: SuccessorCheck['by']
  /** Seconds since the check, when the list was read. */
  age_seconds: number
}

/** The successor the team named (rotation pairing), and its readiness as last checked. */
export interface ExpiringSuccessor {
  successor_id: string
  /** The successor's name, when it has one and the reader may see it. */
  name?: string
  named_by: string
  named_at: string
  /** The services the old certificate served when the successor was named. */
  services: string[]
  /** Null: not checked since it was named (the expiry watch checks it at a horizon). */
  check: SuccessorReadiness | null
}

export interface ExpiringCertificate {
  account_id: string
  id: string
  name?: string
  ca?: boolean
  team: string | null
  expires_on: string
  days_left: number
  horizon: string | null
  notices: ExpiringNotice[]
  acknowledged: string[]
  successor: ExpiringSuccessor | null
}

/** A pairing as the list shows it: no upstream call, only what the last check kept. */
function successorOf(
  pairing: Pairing | undefined,
  nowMs: number,
  nameOf: (id: string) => string | undefined,
): ExpiringSuccessor | null {
  if (pairing === undefined) return null
  const { check } = pairing
  const name = nameOf(pairing.successor_id)
  return {
    successor_id: pairing.successor_id,
    ...(name !== undefined ? { name } : {}),
    named_by: pairing.named_by,
    named_at: new Date(pairing.named_at).toISOString(),
    services: pairing.services,
    check:
      check === undefined
        ? null
        : {
            ready: check.ready,
            reason: check.reason,
            missing_services: check.missing_services,
            ...(check.expires_on !== undefined ? { expires_on: check.expires_on } : {}),
            checked_at: new Date(check.at).toISOString(),
            checked_by: check.by,
            age_seconds: Math.max(0, Math.floor((nowMs - check.at) / 1000)),
          },
  }
}

type Deps = Pick<
  RequestScope,
  'principal' | 'policy' | 'who' | 'ledger' | 'upstream' | 'lifecycle' | 'requestId' | 'snapshot'
>

export function listExpiring(
  deps: Deps,
  input: { withinDays: number },
  nowMs: number = Date.now(),
): Promise<Outcome<ExpiringCertificate[]>> {
  return run({}, async () => {
    const team = deps.policy.teams.find((t) => t.id === deps.principal.teamId)
    const accounts = team?.accounts ?? []
    const found: ExpiringCertificate[] = []
    const settings = deps.policy.lifecycle
    // One coordinator round trip per account, the accounts side by side (account-view.ts).
    const views = await readAccountViews(deps, accounts)
    for (const [index, accountId] of accounts.entries()) {
      const { certificates, owners, notices, acks, pairings } = views[index]!
      const successors = new Map(pairings.map((p) => [p.certificate_id, p]))
      const byId = new Map(certificates.map((c) => [c.id, c]))
      // A successor's name, as a list would show it to this reader (nothing of what it may not see).
      const nameOf = (id: string) => {
        const cert = byId.get(id)
        if (!cert?.name || cert.expires_on === undefined) return undefined
        const facts = {
          ownerTeam: owners.get(id) ?? null,
          ca: cert.ca ?? false,
          expiresOn: cert.expires_on,
        }
        return deps.who.decide('list', facts).effect === 'deny' ? undefined : cert.name
      }
      for (const cert of certificates) {
        const expiresMs = Date.parse(cert.expires_on ?? '')
        if (Number.isNaN(expiresMs) || expiresMs > nowMs + input.withinDays * 86_400_000) continue
        const ownerTeam = owners.get(cert.id) ?? null
        const facts = { ownerTeam, ca: cert.ca ?? false, expiresOn: cert.expires_on! }
        if (deps.who.decide('list', facts).effect === 'deny') continue
        const days =
          (ownerTeam && settings.teams[ownerTeam]?.horizons_days) || settings.horizons_days
        found.push({
          account_id: accountId,
          id: cert.id,
          ...(cert.name ? { name: cert.name } : {}),
          ...(cert.ca !== undefined ? { ca: cert.ca } : {}),
          team: ownerTeam,
          expires_on: cert.expires_on!,
          days_left: daysLeft(expiresMs, nowMs),
          horizon: horizonAt(expiresMs, nowMs, days) ?? null,
          notices: notices
            .filter((n) => n.certificate_id === cert.id)
            .map((n) => ({
              horizon: n.horizon,
              channel: n.channel,
              kind: n.kind,
              state: n.state,
              attempts: n.attempts,
            })),
          acknowledged: acks.filter((a) => a.certificate_id === cert.id).map((a) => a.horizon),
          successor: successorOf(successors.get(cert.id), nowMs, nameOf),
        })
      }
    }
    return found.sort((a, b) => Date.parse(a.expires_on) - Date.parse(b.expires_on))
  })
}

export function acknowledgeNotice(
  deps: Deps,
  input: { accountId: string; certificateId: string; horizon: string },
  nowMs: number = Date.now(),
): Promise<Outcome<{ certificate_id: string; horizon: string; first: boolean }>> {
  const start: Findings = { accountId: input.accountId, certificateId: input.certificateId }
  return run(start, async (found) => {
    deps.who.requireAccount(input.accountId, GatewayError.of('ACCOUNT_NOT_FOUND'))
    const owner = await deps.ledger.owner(input.accountId, input.certificateId)
    const facts = { ownerTeam: owner?.team ?? null }
    deps.who.requireVisible(found, facts)
    deps.who.requireAllowed(found, 'get', facts)
    const { notices } = await deps.lifecycle.notices.list(input.accountId)
    const noticed = notices.some(
      (n) => n.certificate_id === input.certificateId && n.horizon === input.horizon,
    )
    if (!noticed) throw GatewayError.of('NOTICE_NOT_FOUND')
    // On record first (fail closed), as every change.
    try {
      await deps.lifecycle.record({
        kind: 'acknowledgement',
        accountId: input.accountId,
        ...(owner ? { team: owner.team } : {}),
        member: deps.principal.memberId,
        via: deps.principal.via,
        action: 'acknowledge',
        requestId: deps.requestId,
        lifecycle: { certificate_id: input.certificateId, horizon: input.horizon },
      })
    } catch (error) {
      throw GatewayError.of('AUDIT_UNAVAILABLE', { cause: error })
    }
    const first = await deps.lifecycle.notices.acknowledge(input.accountId, {
      certificate_id: input.certificateId,
      horizon: input.horizon,
      member: deps.principal.memberId,
      at: nowMs,
    })
    return { certificate_id: input.certificateId, horizon: input.horizon, first }
  })
}

/** The caller's team's calendar URL (calendar.ts): only their own team's, never another's. */
export function calendarUrl(
  deps: Pick<RequestScope, 'principal'>,
  signingKey: string,
): Promise<Outcome<{ team: string; path: string }>> {
  return run({}, async () => {
    const team = deps.principal.teamId
    return { team, path: calendarPath(team, await calendarToken(signingKey, team)) }
  })
}
