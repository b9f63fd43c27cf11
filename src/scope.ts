/**
 * The request scope: the plain inputs every operation runs on, built once per authenticated
 * request from the configuration, the bindings and the principal: the authorizer, the stores, the
 * upstream port and the audit port. Handlers pass it (`c.var.scope`) to their operation; an
 * operation declares the part it needs (OwnershipDeps, ApprovalDeps) and never sees Hono's
 * `Context`. Only app.ts mounts it.
 */
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from './app-env'
import type { ApprovalDeps } from './approvals/park'
import { partsOf, pendingRecorder, type PendingRecorder } from './audit/middleware'
import {
  coordinatedApprovals,
  coordinatedBudget,
  coordinatedLedger,
  coordinatedChains,
  coordinatedTransfers,
} from './coordinator/client'
import { tokenInstanceName } from './coordinator/shard'
import type { Principal } from './identity/principal'
import type { TransferStore } from './ownership/transfer-store'
import { accountsOf } from './policy/document'
import { authorizer } from './policy/enforce'
import type { Limits } from './policy/limits'
import {
  budgetGate,
  leaseCacheFor,
  type BudgetCaller,
  type TokenBudget,
} from './upstream/budget-gate'
import { upstreamPort, type UpstreamStats } from './upstream/port'

export interface RequestScope extends ApprovalDeps {
  transfers: TransferStore
  audit: PendingRecorder
  upstreamStats: Readonly<UpstreamStats>
  /** The caller's place in the token's budget, and the budget itself (whoami shows it). */
  budget: { caller: BudgetCaller; limits: Limits; tokenBudget: TokenBudget }
}

function budgetCaller(principal: Principal, limits: Limits): BudgetCaller {
  return {
    team: principal.teamId,
    member: principal.memberId,
    reserveEligible: principal.roles.some((role) => limits.reserveRoles.has(role)),
    memberLimit: limits.team(principal.teamId).memberLimit,
  }
}

/** Mounted after authentication: every handler behind it reads `c.var.scope`. */
export const requestScope = () =>
  createMiddleware<AppEnv>(async function requestScope(c, next) {
    const { config, principal } = c.var
    const { limits } = config
    const caller = budgetCaller(principal, limits)
    const tokenBudget = coordinatedBudget(c.env.COORDINATOR, tokenInstanceName(config.apiToken))
    const gate = budgetGate(tokenBudget, limits.plan, caller, leaseCacheFor(config))
    const upstream = upstreamPort({ apiToken: config.apiToken, ...config.upstream }, gate)
    c.set('scope', {
      principal,
      requestId: c.var.requestId,
      policy: config.policy,
      who: authorizer(principal, config.policy),
      ledger: coordinatedLedger(c.env.COORDINATOR),
      approvals: coordinatedApprovals(c.env.COORDINATOR, accountsOf(config.policy)),
      transfers: coordinatedTransfers(c.env.COORDINATOR, accountsOf(config.policy)),
      upstream,
      upstreamStats: upstream.stats,
      audit: pendingRecorder(
        c.env.AUDIT,
        config.audit,
        coordinatedChains(c.env.COORDINATOR, config.audit.retentionDays),
        () => partsOf(c),
      ),
      uploadWindowMs: config.upstream.timeoutMs,
      caQuota: (teamId) => limits.caQuota(teamId),
      budget: { caller, limits, tokenBudget },
    })
    await next()
  })
