/**
 * The pipe's joints with Hono, the pieces that know the app's environment (app-env.ts):
 *
 *   declareAction(a)  on every route: names the action before the input is validated, so that a
 *                     request refused as invalid is still recorded as the action it attempted
 *   jsonBody()        on routes that take a body: JSON only, within the configured size
 *   requestScope()    after authentication: the plain inputs every operation runs on (config,
 *                     bindings, principal → authorizer, stores, upstream port, audit port);
 *                     operations receive it as an argument and never see Hono's `Context`
 *   settle(c, o)      where a handler hands its operation's outcome back: the findings go to the
 *                     audit trail, a refusal is thrown for the one error renderer
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from './app-env'
import type { ApprovalDeps } from './approvals/park'
import { approvals } from './approvals/store'
import { partsOf, pendingRecorder, type PendingRecorder } from './audit/middleware'
import type { Action, Outcome, UpstreamStats } from './audit/record'
import { readJsonBody } from './lib/json-body'
import { ledger } from './ownership/ledger'
import { authorizer } from './policy/enforce'
import { upstreamPort } from './upstream/port'

export interface RequestScope extends ApprovalDeps {
  audit: PendingRecorder
  upstreamStats: Readonly<UpstreamStats>
}

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
    const { config, principal } = c.var
    const upstream = upstreamPort({ apiToken: config.apiToken, ...config.upstream })
    c.set('scope', {
      principal,
      requestId: c.var.requestId,
      policy: config.policy,
      who: authorizer(principal, config.policy),
      ledger: ledger(c.env.LEDGER),
      approvals: approvals(c.env.LEDGER),
      upstream,
      upstreamStats: upstream.stats,
      audit: pendingRecorder(c.env.AUDIT, config.audit, () => partsOf(c)),
      uploadWindowMs: config.upstream.timeoutMs,
    })
    await next()
  })

/** The operation's value, or its refusal thrown; its findings are kept for the audit trail. */
export function settle<T>(c: Context<AppEnv>, outcome: Outcome<T>): T {
  c.set('findings', outcome.findings)
  if (!outcome.ok) throw outcome.error
  return outcome.value
}
