/**
 * Handlers of the gateway's own endpoints. Like the certificate handlers they are thin: identity
 * comes from the principal, decisions from `policy/enforce.ts`, facts from `certificates/facts.ts`.
 */
import { recordBeforeForward } from '../audit/middleware'
import { associationsOf, certificateFacts, ledgerFor } from '../certificates/facts'
import { approveDelete, concernedApproval } from '../certificates/operations'
import { createRouter } from '../lib/create-app'
import { successEnvelope } from '../lib/envelope'
import { GatewayError } from '../lib/errors'
import { note } from '../lib/request-facts'
import type { CertificateFacts } from '../policy/decide'
import { decideFor, requireAccount, requireAllowed, requireVisible } from '../policy/enforce'
import { CERTIFICATE_ACTIONS } from '../policy/rules'
import { forward } from '../upstream/forward'
import { upstreamRequests } from '../upstream/request'
import { approveRoute, assignRoute, explainRoute, getApprovalRoute, whoamiRoute } from './routes'

export const gatewayRouter = createRouter()
  .openapi(whoamiRoute, (c) => {
    const { memberId, teamId, roles, via } = c.var.principal
    c.var.facts.action = 'whoami'
    const accounts = c.var.config.policy.teams.find((t) => t.id === teamId)?.accounts ?? []
    return c.json(
      successEnvelope({
        member: memberId,
        team: teamId,
        roles: [...roles],
        authenticated_by: via,
        accounts,
      }),
      200,
    )
  })
  .openapi(explainRoute, async (c) => {
    const {
      action,
      account_id: accountId,
      mtls_certificate_id: certificateId,
      ca,
    } = c.req.valid('query')
    note(c, 'explain', accountId, certificateId)
    requireAccount(
      c,
      accountId,
      GatewayError.of(certificateId ? 'CERTIFICATE_NOT_FOUND' : 'ACCOUNT_NOT_FOUND'),
    )

    let facts: CertificateFacts | undefined
    if (certificateId !== undefined) {
      // Explaining must not reveal more than asking would: an invisible certificate is not found.
      facts = (await certificateFacts(c, accountId, certificateId)).facts
      requireVisible(c, facts)
      if (action === 'delete' || action === 'approve') {
        facts = {
          ...facts,
          hasAssociations: (await associationsOf(c, accountId, certificateId)).length > 0,
        }
      }
    } else if (action === 'upload') {
      facts = {
        ownerTeam: c.var.principal.teamId,
        ...(ca !== undefined ? { ca } : {}),
        hasAssociations: false,
      }
    } else if ((CERTIFICATE_ACTIONS as readonly string[]).includes(action) && action !== 'list') {
      throw GatewayError.of('INVALID_QUERY', {
        message: `explaining ${action} needs mtls_certificate_id`,
        pointer: '/mtls_certificate_id',
      })
    }
    const decision = decideFor(c, action, facts)
    return c.json(
      successEnvelope({
        action,
        allowed: decision.effect === 'allow',
        rule_ids: decision.ruleIds,
        reason: decision.reason,
        approval_required: decision.approval
          ? { roles: decision.approval.roles, ttl_minutes: decision.approval.ttlMinutes }
          : null,
        shadow: decision.shadow
          ? {
              effect: decision.shadow.effect,
              rule_ids: decision.shadow.ruleIds,
              reason: decision.shadow.reason,
            }
          : null,
      }),
      200,
    )
  })
  .openapi(getApprovalRoute, async (c) => {
    const { approval_id: id } = c.req.valid('param')
    return c.json(successEnvelope(await concernedApproval(c, id)), 200)
  })
  .openapi(approveRoute, async (c) => {
    const { approval_id: id } = c.req.valid('param')
    return c.json((await approveDelete(c, id)) as never, 200)
  })
  .openapi(assignRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const { team } = c.req.valid('json')
    note(c, 'assign', accountId, certificateId)
    requireAccount(c, accountId, GatewayError.of('CERTIFICATE_NOT_FOUND'))
    const target = c.var.config.policy.teams.find((t) => t.id === team)
    if (target === undefined || !target.accounts.includes(accountId)) {
      throw GatewayError.of('UNKNOWN_TEAM', {
        message: `No team "${team}" with access to this account`,
        pointer: '/team',
      })
    }
    const known = await certificateFacts(c, accountId, certificateId)
    requireVisible(c, known.facts)
    requireAllowed(c, 'assign', known.facts)
    // The certificate must exist now, whatever the ledger says (404 from the upstream if not).
    if (known.fetched === undefined)
      await forward(c, upstreamRequests.get(accountId, certificateId))
    await recordBeforeForward(c)
    const ledger = ledgerFor(c)
    try {
      await ledger.assign(accountId, certificateId, {
        team,
        member: c.var.principal.memberId,
        request_id: c.var.requestId,
        assigned_at: new Date().toISOString(),
        via: 'assign',
        ...(known.facts.ca !== undefined ? { ca: known.facts.ca } : {}),
        ...(known.facts.expiresOn !== undefined ? { expires_on: known.facts.expiresOn } : {}),
      })
    } catch (error) {
      throw GatewayError.of('LEDGER_UNAVAILABLE', {
        message: 'The new owner could not be recorded',
        cause: error,
      })
    }
    const result = {
      account_id: accountId,
      mtls_certificate_id: certificateId,
      team,
      previous_team: known.facts.ownerTeam,
    }
    return c.json(successEnvelope(result), 200)
  })
