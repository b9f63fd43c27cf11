/**
 * What expires, and acknowledging a notice (issue 23): the operations behind
 * `GET /gateway/v1/expiring` and `POST /gateway/v1/accounts/{account_id}/mtls_certificates/{id}/acknowledge`.
 *
 * The list covers the caller's team's accounts and shows each certificate the policy lets the
 * caller list (its own team's; every one for account-wide roles), expiring within the window,
 * soonest first, with its owner, the horizon it stands at and its notices (state per channel) and
 * acknowledgements. It reads through the CertificateSource: the account's snapshot, or one
 * upstream list per account when the policy turns the snapshot off.
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
import { certificateSourceFor } from './certificate-source'
import { daysLeft, horizonAt } from './horizons'

export interface ExpiringNotice {
  horizon: string
  channel: string
  kind: string
  state: string
  attempts: number
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
    const source = certificateSourceFor(deps)
    const found: ExpiringCertificate[] = []
    const settings = deps.policy.lifecycle
    for (const accountId of team?.accounts ?? []) {
      const { certificates } = await source.list(accountId)
      const { owners } = await deps.ledger.owners(accountId)
      const { notices, acks } = await deps.lifecycle.notices.list(accountId)
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
