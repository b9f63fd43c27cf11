/** whoami's handler: the principal as authentication found it, and its team's accounts. */
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { whoamiRoute } from './routes'

export const identityRouter = createRouter<AppEnv>().openapi(whoamiRoute, (c) => {
  const { memberId, teamId, roles, via } = c.var.principal
  const accounts = c.var.config.policy.teams.find((t) => t.id === teamId)?.accounts ?? []
  const result = {
    member: memberId,
    team: teamId,
    roles: [...roles],
    authenticated_by: via,
    accounts,
  }
  return c.json(successEnvelope(result), 200)
})
