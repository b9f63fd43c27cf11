/**
 * The console's cookies, and the one place their attributes are chosen:
 *   - HttpOnly: page script (there is none, and an injected one could not run: see headers.ts)
 *     cannot read them;
 *   - SameSite=Strict: a browser never sends them with a request another site starts, so a
 *     cross-site form post or link arrives without a session (CSRF tokens and the Origin check
 *     in csrf.ts are the second and third lines);
 *   - Secure whenever the console is served over https (plain http only on a loopback dev run);
 *   - Path=/console: the browser sends them to the console's own pages only. The API prefixes
 *     would ignore them anyway: /client/v4 and /gateway/v1 authenticate by the Authorization
 *     header alone (test/console/session.security.test.ts).
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

export const SESSION_COOKIE = 'mtlsgw_console'
/** The sign-in form's nonce: binds its CSRF token to this browser before any session exists. */
export const SIGN_IN_COOKIE = 'mtlsgw_console_sign_in'
const COOKIE_PATH = '/console'
export const SIGN_IN_FORM_LIFETIME_SECONDS = 30 * 60

const attributes = (c: Context) =>
  ({
    path: COOKIE_PATH,
    httpOnly: true,
    sameSite: 'Strict',
    secure: new URL(c.req.url).protocol === 'https:',
  }) as const

export function putCookie(c: Context, name: string, value: string, maxAgeSeconds: number): void {
  setCookie(c, name, value, { ...attributes(c), maxAge: maxAgeSeconds })
}

export function dropCookie(c: Context, name: string): void {
  deleteCookie(c, name, attributes(c))
}

export const readCookie = (c: Context, name: string): string | undefined => getCookie(c, name)
