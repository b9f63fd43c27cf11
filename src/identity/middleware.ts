/**
 * Authentication as Hono middleware: the principal, or 401 (identity/authenticate.ts decides); and
 * the member's rate, right after it (member-rate.ts), before anything else is done for the request.
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env'
import { coordinatedMemberKeys, coordinatedMemberRates } from '../coordinator/client'
import { GatewayError } from '../lib/errors'
import { ACCESS_ASSERTION_HEADER } from './access'
import { authenticateRequest, type TableKeys } from './authenticate'
import { admitMember, rateCacheFor } from './member-rate'
import type { MemberKey } from '../coordinator/member-keys'
import { mayBeTableKey, tableKeyById, tableKeyCaller } from './table-keys'

const memberKeysOf = (c: Context<AppEnv>) => coordinatedMemberKeys(c.env.COORDINATOR)

/**
 * The member keys' table's record of a key by its public id, for each visit of a console session
 * started with a table key (console/identity.ts, which reaches no binding itself): from this
 * isolate's cache while it is fresh (identity/table-keys.ts), so a page costs no coordinator call.
 */
export function tableKeyRecord(c: Context<AppEnv>, keyId: string): Promise<MemberKey | null> {
  return tableKeyById(keyId, {
    keysVersion: c.var.keysVersion ?? 0,
    store: () => memberKeysOf(c),
  })
}

/**
 * Keys from the member keys' table as authentication looks them up (identity/table-keys.ts), in
 * managed mode only; the console's sign-in takes the same.
 */
export function tableKeysOf(c: Context<AppEnv>): TableKeys | undefined {
  const { config } = c.var
  if (config.policySource.mode === 'pinned') return undefined
  return async (hash: string, key: string) => {
    // Issue 20: a key with a wrong check value costs no coordinator call (table-keys.ts).
    const gate = {
      checkSecret: config.audit.signingKey,
      uncheckedKeys: c.var.uncheckedKeys ?? 1,
    }
    if (!(await mayBeTableKey(key, gate))) return null
    return tableKeyCaller(hash, {
      keysVersion: c.var.keysVersion ?? 0,
      policy: config.policy,
      store: () => memberKeysOf(c),
    })
  }
}

export const authenticate = () =>
  createMiddleware<AppEnv>(async function authenticate(c, next) {
    // Key or Cloudflare Access token; the precedence is documented in identity/authenticate.ts.
    // Issue 20, slice 4: keys from the member keys' table too, in managed mode only.
    const tableKeys = tableKeysOf(c)
    const principal = await authenticateRequest(
      {
        authorization: c.req.header('authorization'),
        accessAssertion: c.req.header(ACCESS_ASSERTION_HEADER),
      },
      c.var.config,
      new Date(),
      tableKeys,
    )
    c.set('principal', principal)
    await next()
  })

/**
 * Past the member's rate: 429 / 18440 with `retry-after`, nothing else done. `render` answers the
 * refusal where the app's renderer would not (the console's pages); otherwise it is thrown to it.
 */
export const memberRate = (
  render?: (error: GatewayError, c: Context<AppEnv>) => Response | Promise<Response>,
) =>
  createMiddleware<AppEnv>(async function memberRate(c, next) {
    const { config, principal } = c.var
    const rate = config.limits.memberRate
    const rates = coordinatedMemberRates(c.env.COORDINATOR)
    const verdict = await admitMember(rates, rateCacheFor(config), principal.memberId, rate)
    if (verdict.summary !== null) c.set('memberFlood', verdict.summary)
    if (verdict.allowed) return next()
    if (!verdict.record) c.set('unrecorded', true)
    const retryAfter = String(Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)))
    const refusal = GatewayError.of('MEMBER_RATE_EXCEEDED', {
      message: `${principal.memberId} has sent the ${rate.limit} requests a minute the policy allows; retry after ${retryAfter} s`,
      headers: { 'retry-after': retryAfter },
    })
    if (render === undefined) throw refusal
    c.header('retry-after', retryAfter)
    return render(refusal, c)
  })
