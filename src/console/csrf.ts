/**
 * State-changing console forms (sign-in, sign-out, assign, approve) are taken only from the
 * console itself: the browser's `Origin` must be the console's own (and `Sec-Fetch-Site`, when
 * sent, `same-origin`), and the form must carry the CSRF token of the visit it was rendered for
 * (session.ts). SameSite=Strict already keeps the session cookie off a cross-site post; these two
 * checks hold even where it would not (an old browser, a sibling subdomain). A form post without
 * an `Origin` is refused: every browser the console supports sends one.
 */
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env'
import { GatewayError } from '../lib/errors'
import { isCsrfToken, sessionKey } from './session'

/** Console forms hold a key, an id or a team: anything larger is not one of them. */
const MAX_FORM_BYTES = 8 * 1024

export function isSameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site')
  if (site !== undefined && site !== 'same-origin') return false
  return c.req.header('origin') === new URL(c.req.url).origin
}

/** The posted form's fields (strings only; files are not a console form's business). */
export async function formFields(c: Context): Promise<Record<string, string>> {
  const body = await c.req.parseBody()
  return Object.fromEntries(
    Object.entries(body).flatMap(([name, value]) =>
      typeof value === 'string' ? [[name, value]] : [],
    ),
  )
}

/** Refuses the post unless it comes from this origin with the token bound to `binding`. */
async function requireOwnForm(c: Context<AppEnv>, binding: string): Promise<void> {
  const { csrf = '' } = await formFields(c)
  const key = await sessionKey(c.var.config.audit.signingKey)
  if (!isSameOrigin(c) || !(await isCsrfToken(key, binding, csrf))) {
    throw GatewayError.of('CONSOLE_FORM_REFUSED')
  }
}

export const formSizeLimit = () =>
  bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: () => {
      throw GatewayError.of('BODY_TOO_LARGE')
    },
  })

/** On every signed-in console route: posts must be the console's own forms. */
export const ownFormsOnly = () =>
  createMiddleware<AppEnv>(async function ownFormsOnly(c, next) {
    if (c.req.method === 'POST') await requireOwnForm(c, c.var.console.csrfBinding)
    await next()
  })
