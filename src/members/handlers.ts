/** The members endpoints' handlers (issue 20, slice 4): thin; the operations are control/members.ts. */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { addMemberRoute, listMembersRoute, revokeKeyRoute, rotateKeyRoute } from './routes'
import { addMember, listKeys, revokeKey, rotateKey, type MembersDeps } from '../control/members'

/** What the members operations run on, from the request's scope (the console's pages use it too). */
export function membersDepsOf(c: Context<AppEnv>): MembersDeps {
  const { scope, config } = c.var
  return {
    principal: scope.principal,
    who: scope.who,
    audit: scope.audit,
    policy: config.policy,
    mode: config.policySource.mode,
    keys: scope.memberKeys,
    keyCheckSecret: config.audit.signingKey,
  }
}

export const membersRouter = createRouter<AppEnv>()
  .openapi(listMembersRoute, async (c) => {
    const query = c.req.valid('query')
    return c.json(successEnvelope(settle(c, await listKeys(membersDepsOf(c), query))), 200)
  })
  .openapi(addMemberRoute, async (c) => {
    const body = c.req.valid('json')
    return c.json(successEnvelope(settle(c, await addMember(membersDepsOf(c), body))), 200)
  })
  .openapi(rotateKeyRoute, async (c) => {
    const { key_id } = c.req.valid('param')
    const { grace_seconds } = c.req.valid('json')
    const outcome = await rotateKey(membersDepsOf(c), { key_id, grace_seconds })
    return c.json(successEnvelope(settle(c, outcome)), 200)
  })
  .openapi(revokeKeyRoute, async (c) => {
    const { key_id } = c.req.valid('param')
    return c.json(successEnvelope(settle(c, await revokeKey(membersDepsOf(c), { key_id }))), 200)
  })
