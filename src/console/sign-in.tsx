/**
 * Signing in and out of the console without Cloudflare Access: a form takes a member's gateway
 * key, authenticates it exactly as the API does (identity/authenticate.ts) and starts a session
 * (session.ts) in a cookie (cookie.ts). The key is read from the form once and never written
 * anywhere: not in the cookie, not in the page, not in the audit entry.
 *
 * The sign-in form is bound to this browser by a nonce cookie, and its CSRF token is a MAC of that
 * nonce, so another site cannot sign a browser in to an account of its choosing. Sign-out revokes
 * the session (revocations.ts) and deletes the cookie.
 *
 * Behind Cloudflare Access there is nothing to sign in to: the Access identity is used on every
 * request (identity.ts), and this form sends the browser on to the console.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { ACCESS_ASSERTION_HEADER } from '../identity/access'
import { authenticateKey } from '../identity/authenticate'
import { hashKey } from '../identity/keys'
import { tableKeysOf } from '../identity/middleware'
import type { Caller } from '../identity/principal'
import { GatewayError } from '../lib/errors'
import { base64url } from '../lib/encoding'
import {
  dropCookie,
  putCookie,
  readCookie,
  SESSION_COOKIE,
  SIGN_IN_COOKIE,
  SIGN_IN_FORM_LIFETIME_SECONDS,
} from './cookie'
import { formFields, isSameOrigin } from './csrf'
import { humanMessage } from './error-copy'
import { Notice } from './layout'
import { renderPage } from './render'
import { revoke } from './revocations'
import {
  csrfToken,
  isCsrfToken,
  newSession,
  sealSession,
  SESSION_LIFETIME_MS,
  sessionKey,
} from './session'

/** Where to go after signing in: a console path only, never another site (`//evil`, `/\evil`). */
function safeNext(next: string | undefined): string {
  if (next === undefined) return '/console'
  return /^\/console(?:[/?][^\\\s]*)?$/.test(next) && !next.startsWith('//') ? next : '/console'
}

/** What the form says about a refusal: in plain words (error-copy.ts), with its code for help. */
const describe = (error: GatewayError) =>
  `${humanMessage(error.errors[0]!)} (Code ${error.errors[0]!.code}.)`

const signInBinding = (nonce: string) => `sign-in:${nonce}`

export interface SignInView {
  status: 200 | 401 | 403 | 503
  notice?: { tone: 'good' | 'bad' | 'info'; text: string }
  /** The key just given was refused: the field is marked invalid and names the notice. */
  invalidKey?: boolean
  next?: string
}

/** The sign-in form, with a fresh nonce cookie and the CSRF token bound to it. */
export async function renderSignIn(c: Context<AppEnv>, view: SignInView, signingSecret: string) {
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)))
  const token = await csrfToken(await sessionKey(signingSecret), signInBinding(nonce))
  putCookie(c, SIGN_IN_COOKIE, nonce, SIGN_IN_FORM_LIFETIME_SECONDS)
  c.header('cache-control', 'no-store')
  return renderPage(
    c,
    {
      title: 'Sign in',
      children: (
        <div class="sign-in">
          {view.notice &&
            (view.invalidKey ? (
              // The field's own error, which aria-describedby makes part of the field's name.
              <div class="notice bad" role="alert" id="key-error">
                {view.notice.text}
              </div>
            ) : (
              <Notice tone={view.notice.tone}>{view.notice.text}</Notice>
            ))}
          <p>
            Sign in with your gateway key (<code>mtlsgw_…</code>), the one you send as{' '}
            <code>Authorization: Bearer</code>. The key is checked once and not kept: the console
            remembers only a session, for 8 hours or until you sign out.
          </p>
          <form method="post" action="/console/sign-in" class="panel">
            <input type="hidden" name="csrf" value={token} />
            <input type="hidden" name="next" value={safeNext(view.next)} />
            <label for="key">Gateway key</label>
            <input
              id="key"
              name="key"
              type="password"
              autocomplete="current-password"
              required
              spellcheck={false}
              autofocus
              aria-invalid={view.invalidKey ? 'true' : undefined}
              aria-describedby={view.invalidKey ? 'key-error key-hint' : 'key-hint'}
            />
            <p class="hint" id="key-hint">
              Behind Cloudflare Access you are signed in already and never see this form.
            </p>
            <div class="actions">
              <button type="submit">Sign in</button>
            </div>
          </form>
        </div>
      ),
    },
    view.status,
  )
}

const NOTICES: Record<string, string> = {
  signed_out: 'You are signed out.',
}

/** GET /console/sign-in: the form (served before the audit trail; see unrecorded.tsx). */
export async function signInForm(c: Context<AppEnv>, signingSecret: string, hasAccess: boolean) {
  if (hasAccess && c.req.header(ACCESS_ASSERTION_HEADER) !== undefined) {
    return c.redirect(safeNext(c.req.query('next')), 303)
  }
  const said = NOTICES[c.req.query('notice') ?? '']
  return renderSignIn(
    c,
    {
      status: 200,
      next: c.req.query('next'),
      ...(said ? { notice: { tone: 'good', text: said } } : {}),
    },
    signingSecret,
  )
}

/** POST /console/sign-in: this browser's own form, a member's key, then a session. */
export async function signIn(c: Context<AppEnv>) {
  const { policy, audit } = c.var.config
  const fields = await formFields(c)
  const next = safeNext(fields.next)
  const nonce = readCookie(c, SIGN_IN_COOKIE)
  const key = await sessionKey(audit.signingKey)
  const ownForm =
    nonce !== undefined &&
    isSameOrigin(c) &&
    (await isCsrfToken(key, signInBinding(nonce), fields.csrf ?? ''))
  if (!ownForm) {
    const refused = GatewayError.of('CONSOLE_FORM_REFUSED')
    c.set('failure', refused)
    return renderSignIn(
      c,
      {
        status: 403,
        next,
        notice: { tone: 'bad', text: `${describe(refused)} Try again.` },
      },
      audit.signingKey,
    )
  }
  const presented = (fields.key ?? '').trim()
  let principal
  try {
    principal = await authenticateKey(`Bearer ${presented}`, policy, new Date(), tableKeysOf(c))
  } catch (error) {
    if (!(error instanceof GatewayError) || error.status !== 401) throw error
    c.set('failure', error)
    return renderSignIn(
      c,
      { status: 401, next, invalidKey: true, notice: { tone: 'bad', text: describe(error) } },
      audit.signingKey,
    )
  }
  const now = Date.now()
  const session = await newSession(key, await sessionMember(c, principal, presented), now)
  c.set('principal', principal)
  dropCookie(c, SIGN_IN_COOKIE)
  putCookie(c, SESSION_COOKIE, await sealSession(key, session), SESSION_LIFETIME_MS / 1000)
  return c.redirect(next, 303)
}

/**
 * Who a new session is for, bound to the key that signed in: a member of the policy by its stored
 * hash; a member whose key is in the member keys' table also by that key's public id, which
 * authentication handed back with the caller and each visit checks with the table
 * (console/identity.ts).
 */
async function sessionMember(c: Context<AppEnv>, principal: Caller, presented: string) {
  const member = c.var.config.policy.members.find((m) => m.id === principal.memberId)
  if (member?.key_sha256 !== undefined) return { id: member.id, keySha256: member.key_sha256 }
  // Not a policy member, so the table authenticated it and named its key; fail closed otherwise.
  if (principal.keyId === undefined) throw GatewayError.of('UNKNOWN_KEY')
  return { id: principal.memberId, keySha256: await hashKey(presented), keyId: principal.keyId }
}

/** POST /console/sign-out (a signed-in route: identity and the CSRF check come first). */
export async function signOut(c: Context<AppEnv>) {
  const { session } = c.var.console
  dropCookie(c, SESSION_COOKIE)
  if (session !== undefined) {
    try {
      await revoke(c.env.CONSOLE_SESSIONS, session, Date.now())
    } catch (error) {
      throw GatewayError.of('CONSOLE_SESSIONS_UNAVAILABLE', {
        message:
          'Signed out in this browser (its cookie is deleted), but the session could not be revoked: a copy of the cookie stays valid until it expires',
        cause: error,
      })
    }
  }
  return c.redirect('/console/sign-in?notice=signed_out', 303)
}
