/**
 * Assigning a certificate to a team: how an admin places a certificate nobody owns (uploaded
 * outside the gateway, or whose owner was never written) or moves one between teams.
 */
import { run, type Outcome } from '../audit/record'
import { GatewayError } from '../lib/errors'
import type { Policy } from '../policy/document'
import { upstreamRequests } from '../upstream/request'
import { certificateFacts, type OwnershipDeps } from './facts'

export interface Assignment {
  account_id: string
  mtls_certificate_id: string
  team: string
  previous_team: string | null
}

export function assignOwner(
  deps: OwnershipDeps & { policy: Policy },
  input: { accountId: string; certificateId: string; team: string },
): Promise<Outcome<Assignment>> {
  const { accountId, certificateId, team } = input
  return run({ accountId, certificateId }, async (found) => {
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
    // The certificate must exist now, whatever the ledger says (404 from the upstream if not).
    if (known.fetched === undefined) {
      await deps.upstream.call(upstreamRequests.get(accountId, certificateId))
    }
    found.assigned = { team, previousTeam: known.facts.ownerTeam }
    await deps.audit.beforeChange(found)
    await ledger.assign(accountId, certificateId, {
      team,
      member: principal.memberId,
      request_id: deps.requestId,
      assigned_at: new Date().toISOString(),
      via: 'assign',
      ...(known.facts.ca !== undefined ? { ca: known.facts.ca } : {}),
      ...(known.facts.expiresOn !== undefined ? { expires_on: known.facts.expiresOn } : {}),
    })
    return {
      account_id: accountId,
      mtls_certificate_id: certificateId,
      team,
      previous_team: known.facts.ownerTeam,
    }
  })
}
