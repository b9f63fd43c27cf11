/**
 * The policy's word on what a console page shows, through the request scope's authorizer and
 * `settle`, exactly as the API's handlers ask it, so that a page and its API endpoint can never
 * disagree on who may see what.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { run } from '../audit/record'
import { settle } from '../pipe'

/**
 * The log holds every team's entries: reading it is the `audit` action with account-wide scope,
 * decided as if about another team's certificate (as audit/handlers.ts does).
 */
export const EVERY_TEAM = { ownerTeam: '(every team)' }

export async function admitAudit(c: Context<AppEnv>): Promise<void> {
  const { who } = c.var.scope
  settle(c, await run({}, async (found) => who.requireAllowed(found, 'audit', EVERY_TEAM)))
}

export const mayAudit = (c: Context<AppEnv>) =>
  c.var.scope.who.decide('audit', EVERY_TEAM).effect === 'allow'
