/**
 * Who is looking at a console page, as console/identity.ts established it: the principal every
 * operation runs for (the same `Principal` the API's authentication gives), what the page's forms
 * are bound to, and their CSRF token.
 */
import type { Caller } from '../identity/principal'
import type { Session } from './session'

export interface ConsoleVisit {
  principal: Caller
  /** A console session (signed in with a key), or none behind Cloudflare Access. */
  session?: Session
  /** What the CSRF token is a MAC of: the session id, or the Access member. */
  csrfBinding: string
  csrfToken: string
}
