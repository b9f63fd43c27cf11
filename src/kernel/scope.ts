/**
 * The request scope: the plain inputs every operation runs on, for a request or for a job. Types
 * only, so that anything may name it without pulling in what builds it (scope-for.ts). Handlers
 * pass `c.var.scope` to their operation, a scheduled job passes the scope it built with
 * `scopeFor`; an operation declares the part it needs (operation.ts: `OwnershipDeps`,
 * `ApprovalDeps`) and never sees Hono's `Context`.
 */
import type { AuditLog } from '../audit/audit-log'
import type { PendingRecorder } from '../audit/recorder'
import type { TransferStore } from '../ownership/transfer-store'
import type { Limits } from '../policy/limits'
import type { BudgetCaller, TokenBudget } from '../upstream/budget-gate'
import type { UpstreamStats } from '../upstream/port'
import type { ApprovalDeps } from './operation'
import type { LifecyclePorts } from '../lifecycle/ports' // issue 23
import type { MemberKeyStore, RevisionStore } from '../coordinator/client'

export interface RequestScope extends ApprovalDeps {
  transfers: TransferStore
  /** Puts a change on record before it is made (the request's or the job's own entry). */
  audit: PendingRecorder
  /** The log itself, for those who review it: query, export, verify, chains, checkpoints. */
  auditLog: AuditLog
  upstreamStats: Readonly<UpstreamStats>
  /** The caller's place in the token's budget, and the budget itself (whoami shows it). */
  budget: { caller: BudgetCaller; limits: Limits; tokenBudget: TokenBudget }
  /** Issue 23: expiry notices and acknowledgements, and the lifecycle entries of the chain. */
  lifecycle: LifecyclePorts
  /** Issue 20: the policy's revisions and proposals (coordinator/policy-revisions.ts). */
  revisions: RevisionStore
  /** Issue 20, slice 4: the member keys' table (coordinator/member-keys.ts). */
  memberKeys: MemberKeyStore
}
