/**
 * Issue 20 (console): the parts of the request scope and configuration the policy and members
 * operations run on, as their API handlers (control/handlers.ts, members/handlers.ts) build them.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import type { MembersDeps } from '../control/members'
import type { ControlDeps } from '../control/propose'
import type { PolicyViewDeps } from '../control/policy-views'

export function policyViewDeps(c: Context<AppEnv>): PolicyViewDeps {
  const { scope, config } = c.var
  return { who: scope.who, revisions: scope.revisions, mode: config.policySource.mode }
}

export function controlDeps(c: Context<AppEnv>): ControlDeps {
  const { scope, config } = c.var
  return {
    principal: scope.principal,
    who: scope.who,
    audit: scope.audit,
    policy: config.policy,
    policyRevision: config.policyRevision,
    mode: config.policySource.mode,
    revisions: scope.revisions,
  }
}

export function membersDeps(c: Context<AppEnv>): MembersDeps {
  const { scope, config } = c.var
  return {
    principal: scope.principal,
    who: scope.who,
    audit: scope.audit,
    policy: config.policy,
    mode: config.policySource.mode,
    keys: scope.memberKeys,
  }
}
