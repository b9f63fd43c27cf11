/**
 * Assigning a certificate to a team: how an admin places a certificate nobody owns (uploaded
 * outside the gateway, or whose owner was never written) or moves one between teams.
 *
 * An assign respects the CA quota as an upload does: a CA certificate that would take its new team
 * past its quota (policy `quotas`) is refused with 403 / 18340, nothing changed, unless the admin
 * sends `override_quota: true`; an override is on the audit record (`quota_override`: the team,
 * its quota and what it held). The count and the write are one step in the coordinator
 * (`assignWithin`), so two concurrent assigns cannot both take the last slot. A certificate the
 * upstream no longer has is answered 404 and its stale owner record dropped (facts.ts).
 */
import { run, type Findings, type Outcome } from '../kernel/operation'
import { GatewayError } from '../lib/errors'
import type { Policy } from '../policy/document'
import { upstreamRequests } from '../upstream/request'
import type { OwnershipDeps } from '../kernel/operation'
import { certificateFacts, followingUpstream } from './facts'
import type { Ownership } from './ledger'

export interface Assignment {
  account_id: string
  mtls_certificate_id: string
  team: string
  previous_team: string | null
}

export interface AssignInput {
  accountId: string
  certificateId: string
  team: string
  /** The admin's explicit consent to take the team past its CA quota (recorded). */
  overrideQuota?: boolean | undefined
}

export function assignOwner(
  deps: OwnershipDeps & { policy: Policy },
  input: AssignInput,
): Promise<Outcome<Assignment>> {
  const { accountId, certificateId } = input
  return run({ accountId, certificateId }, (found) => assignIn(deps, found, input))
}

/** The assign itself, on findings the caller owns (a transfer's approval runs it too). */
export async function assignIn(
  deps: OwnershipDeps & { policy: Policy },
  found: Findings,
  input: AssignInput,
): Promise<Assignment> {
  const { accountId, certificateId, team } = input
  const { who, ledger, principal } = deps
  who.requireAccount(accountId, GatewayError.of('CERTIFICATE_NOT_FOUND'))
  const target = deps.policy.teams.find((t) => t.id === team)
  if (target === undefined || !target.accounts.includes(accountId)) {
    throw GatewayError.of('UNKNOWN_TEAM', {
      message: `No team "${team}" with access to this account`,
      pointer: '/team',
    })
  }
  const known = await certificateFacts(deps, found, accountId, certificateId)
  who.requireVisible(found, known.facts)
  who.requireAllowed(found, 'assign', known.facts)
  // The certificate must exist now, whatever the ledger says (404 from the upstream if not; a
  // stale owner record is dropped then).
  if (known.fetched === undefined) {
    await followingUpstream(deps, found, { accountId, certificateId, known }, () =>
      deps.upstream.call(upstreamRequests.get(accountId, certificateId)),
    )
  }
  const quota = deps.caQuota(team)
  const previousTeam = known.facts.ownerTeam
  found.assigned = { team, previousTeam }
  const ownership: Ownership = {
    team,
    member: principal.memberId,
    request_id: deps.requestId,
    assigned_at: new Date().toISOString(),
    via: 'assign',
    ...(known.facts.ca !== undefined ? { ca: known.facts.ca } : {}),
    ...(known.facts.expiresOn !== undefined ? { expires_on: known.facts.expiresOn } : {}),
    // Issue 22: kept so that later entries (a delete) name a certificate uploaded elsewhere.
    ...(typeof known.label.name === 'string' ? { name: known.label.name } : {}),
    ...(known.label.fingerprintSha256 !== undefined
      ? { fingerprint_sha256: known.label.fingerprintSha256 }
      : {}),
  }
  // The quota counts only for a CA that changes team, towards a team with a quota.
  const counted = quota !== null && known.facts.ca === true && previousTeam !== team
  const override = counted && input.overrideQuota === true
  if (override) {
    // Read before the change so that the pending entry carries it: only when the admin asked.
    const held = await ledger.caHeldBy(accountId, team)
    if (held >= quota) found.quotaOverride = { team, quota, held }
  }
  await deps.audit.beforeChange(found)
  if (!counted) {
    await ledger.assign(accountId, certificateId, ownership)
  } else {
    const admission = await ledger.assignWithin(
      accountId,
      certificateId,
      ownership,
      override ? null : quota,
    )
    if (!admission.admitted) {
      delete found.assigned
      throw GatewayError.of('ASSIGN_OVER_CA_QUOTA', {
        message: `Not assigned: team ${team} holds ${admission.used} CA certificates in this account (uploads in flight included), its quota is ${quota}; send "override_quota": true to assign it all the same (recorded in the audit log)`,
        headers: { 'x-should-retry': 'false' },
      })
    }
  }
  return {
    account_id: accountId,
    mtls_certificate_id: certificateId,
    team,
    previous_team: previousTeam,
  }
}
