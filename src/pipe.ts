/**
 * The pipe's joints with Hono, the pieces that know the app's environment (app-env.ts):
 *
 *   declareAction(a)  on every route: names the action before the input is validated, so that a
 *                     request refused as invalid is still recorded as the action it attempted
 *   jsonBody()        on routes that take a body: JSON only, within the configured size
 *   requestScope()    after authentication: the request scope (kernel/scope-for.ts `scopeFor`,
 *                     as a job builds its own) that handlers pass to their operations
 *   settle(c, o)      where a handler hands its operation's outcome back: the findings go to the
 *                     audit trail, a refusal is thrown for the one error renderer
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from './app-env'
import { partsOf } from './audit/middleware'
import type { Action, Outcome } from './kernel/operation'
import { scopeFor } from './kernel/scope-for'
import { readJsonBody } from './lib/json-body'

export const declareAction = (action: Action) =>
  createMiddleware<AppEnv>(async function declareAction(c, next) {
    c.set('action', action)
    await next()
  })

export const jsonBody = () =>
  createMiddleware<AppEnv>(function jsonBody(c, next) {
    return readJsonBody(c, c.var.config.maxBodyBytes, next)
  })

/** Mounted after authentication: every handler behind it reads `c.var.scope`. */
export const requestScope = () =>
  createMiddleware<AppEnv>(async function requestScope(c, next) {
    const { config, principal, requestId } = c.var
    c.set('scope', scopeFor({ env: c.env, config, principal, requestId, parts: () => partsOf(c) }))
    await next()
  })

/** The operation's value, or its refusal thrown; its findings are kept for the audit trail. */
export function settle<T>(c: Context<AppEnv>, outcome: Outcome<T>): T {
  c.set('findings', outcome.findings)
  if (!outcome.ok) throw outcome.error
  return outcome.value
}
