/**
 * Who is looking at a signed-in console page: the console's authentication, mounted in app.ts on
 * /console/* (after the sign-in form's routes). It sets the same `principal` the API's
 * authentication sets, so the request scope, the operations and the audit trail are the API's
 * own, plus the visit (visit.ts) the page's forms are bound to.
 *
 *   - Behind Cloudflare Access (configured, and the request carries the assertion), the Access
 *     identity is used as it is, verified on every request (identity/authenticate.ts). Its forms'
 *     CSRF token is bound to the member and the Access token's `iat` and `exp`: the Access
 *     session, which a new Access sign-in replaces and which ends at `exp`.
 *   - Otherwise the session cookie: sealed by this gateway (session.ts), not expired, not signed
 *     out (revocations.ts), and its member still active in the current policy with the key that
 *     started it. Roles are read from the current policy on every request, never from the cookie.
 *
 * A visit without a valid session is answered 401 with the sign-in form (and the cookie, if one
 * was sent, is deleted); the audit trail records it as any unauthenticated request.
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env'
import { ACCESS_ASSERTION_HEADER } from '../identity/access'
import { accessVisitor, isActive } from '../identity/authenticate'
import { tableKeyRecord } from '../identity/middleware'
import type { Caller } from '../identity/principal'
import { GatewayError } from '../lib/errors'
import { dropCookie, readCookie, SESSION_COOKIE } from './cookie'
import { isRevoked } from './revocations'
import { renderConsoleError } from './render'
import { renderSignIn } from './sign-in'
import { csrfToken, openSession, sessionKey, verifyMac, type Session } from './session'
import type { ConsoleVisit } from './visit'

type Refusal = { refused: string }

const REFUSALS = {
  missing: 'Sign in to continue.',
  malformed: 'That session is not one this console issued. Sign in again.',
  forged: 'That session is not one this console issued. Sign in again.',
  expired: 'Your session has expired. Sign in again.',
  revoked: 'That session was signed out. Sign in again.',
  member: 'Your membership or key has changed since you signed in. Sign in again.',
} as const

async function fromSession(
  c: Context<AppEnv>,
  key: CryptoKey,
): Promise<{ principal: Caller; session: Session } | Refusal> {
  const sealed = readCookie(c, SESSION_COOKIE)
  if (sealed === undefined) return { refused: REFUSALS.missing }
  const opened = await openSession(key, sealed, Date.now())
  if (!opened.ok) return { refused: REFUSALS[opened.reason] }
  const { session } = opened
  let revoked: boolean
  try {
    const kv = c.env.CONSOLE_SESSIONS
    if (kv === undefined) throw new Error('the KV namespace binding CONSOLE_SESSIONS is missing')
    revoked = await isRevoked(kv, session.id)
  } catch (error) {
    // Fail closed: a session that cannot be checked is not taken.
    throw GatewayError.of('CONSOLE_SESSIONS_UNAVAILABLE', { cause: error })
  }
  if (revoked) return { refused: REFUSALS.revoked }
  if (session.keyId !== undefined) return fromTableKey(c, session)
  const member = c.var.config.policy.members.find((m) => m.id === session.member)
  const stillTheirs =
    member !== undefined &&
    member.key_sha256 !== undefined &&
    isActive(member, new Date()) &&
    (await verifyMac(key, 'member-key', member.key_sha256, session.keyBinding))
  if (!stillTheirs) return { refused: REFUSALS.member }
  return {
    session,
    principal: { memberId: member.id, teamId: member.team, roles: member.roles, via: 'session' },
  }
}

/**
 * A session started with a key from the member keys' table: that key, read by its public id, must
 * still be the member's and still work (not revoked, or within a rotation's grace; not expired;
 * its team still in the policy). Pinned mode serves no table key. The record comes from the
 * isolate's cache of table keys while it is fresh (identity/table-keys.ts): a revocation or a
 * rotation bumps the keys' version, and the next page after the isolate learns it asks again.
 */
async function fromTableKey(
  c: Context<AppEnv>,
  session: Session,
): Promise<{ principal: Caller; session: Session } | Refusal> {
  const { config } = c.var
  if (config.policySource.mode === 'pinned') return { refused: REFUSALS.member }
  const key = await tableKeyRecord(c, session.keyId!)
  const now = Date.now()
  const works =
    key !== null &&
    key.member === session.member &&
    (key.revoked_ms === null || key.revoked_ms > now) &&
    key.expires_ms > now &&
    config.policy.teams.some((team) => team.id === key.team)
  if (!works) return { refused: REFUSALS.member }
  return {
    session,
    principal: { memberId: key.member, teamId: key.team, roles: key.roles, via: 'session' },
  }
}

async function visitOf(c: Context<AppEnv>, key: CryptoKey): Promise<ConsoleVisit | Refusal> {
  const { config } = c.var
  const assertion = c.req.header(ACCESS_ASSERTION_HEADER)
  if (config.access !== undefined && assertion !== undefined) {
    const { principal, session } = await accessVisitor(
      assertion,
      config.access,
      config.policy,
      new Date(),
    )
    // Bound to the Access session (its token's iat and exp), not only to the member: a token of
    // an earlier Access sign-in, or one that outlived its session, is not this visit's.
    const csrfBinding = `access:${principal.memberId}:${session.issuedAt ?? '-'}:${session.expiresAt}`
    return { principal, csrfBinding, csrfToken: await csrfToken(key, csrfBinding) }
  }
  const found = await fromSession(c, key)
  if ('refused' in found) return found
  const csrfBinding = `session:${found.session.id}`
  return { ...found, csrfBinding, csrfToken: await csrfToken(key, csrfBinding) }
}

export const consoleIdentity = () =>
  createMiddleware<AppEnv>(async function consoleIdentity(c, next) {
    const { signingKey } = c.var.config.audit
    const key = await sessionKey(signingKey)
    let visit: ConsoleVisit | Refusal
    try {
      visit = await visitOf(c, key)
    } catch (error) {
      if (!(error instanceof GatewayError) || error.status !== 401) {
        return renderConsoleError(error instanceof Error ? error : new Error(String(error)), c)
      }
      visit = { refused: error.errors[0]!.message } // an Access token that does not verify
      c.set('failure', error)
    }
    if ('refused' in visit) {
      if (c.get('failure') === undefined)
        c.set('failure', GatewayError.of('CONSOLE_SESSION_INVALID'))
      if (readCookie(c, SESSION_COOKIE) !== undefined) dropCookie(c, SESSION_COOKIE)
      const path = new URL(c.req.url)
      return renderSignIn(
        c,
        {
          status: 401,
          notice: { tone: 'info', text: visit.refused },
          next: c.req.method === 'GET' ? path.pathname + path.search : '/console',
        },
        signingKey,
      )
    }
    c.set('principal', visit.principal)
    c.set('console', visit)
    await next()
  })
