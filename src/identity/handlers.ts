/**
 * whoami's handler: the principal as authentication found it, its team's accounts, and where the
 * caller stands in the shared token's budget (null while the coordinator cannot be reached:
 * whoami still answers who you are).
 */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { budgetStanding } from '../upstream/budget-gate'
import { whoamiRoute } from './routes'

export const identityRouter = createRouter<AppEnv>().openapi(whoamiRoute, async (c) => {
  const { memberId, teamId, roles, via } = c.var.principal
  const accounts = c.var.config.policy.teams.find((t) => t.id === teamId)?.accounts ?? []
  const result = {
    member: memberId,
    team: teamId,
    roles: [...roles],
    authenticated_by: via,
    accounts,
    budget: await budgetStanding(c.var.scope.budget),
  }
  return c.json(successEnvelope(result), 200)
})
