/**
 * The coordinator: one SQLite-backed Durable Object per Cloudflare account (`idFromName(account_id)`),
 * for what must have exactly one answer across isolates and locations. It owns no policy and
 * never calls the upstream: it only keeps state and makes its transitions atomic. A Durable Object
 * runs one call at a time per instance, and each method here is synchronous SQL with no `await`,
 * so a check and its update can never interleave with another request's.
 *
 * Each concern is a module over `ctx.storage.sql` (approvals.ts now; the budget, breaker, quotas
 * and the ledger later), with its own tables created here, so one instance holds them all.
 */
import { DurableObject } from 'cloudflare:workers'
import type { Approval, Claim, Closing } from '../approvals/store'
import { approvalTable } from './approvals'

export class Coordinator extends DurableObject<Env> {
  private readonly approvals: ReturnType<typeof approvalTable>

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    // Tables are created (if missing) before the first call is served.
    this.approvals = approvalTable(ctx.storage.sql)
  }

  parkApproval(approval: Approval, nowMs: number): void {
    this.approvals.park(approval, nowMs)
  }

  approval(id: string, nowMs: number): Approval | null {
    return this.approvals.read(id, nowMs)
  }

  claimApproval(id: string, approver: string, nowMs: number): Claim {
    return this.approvals.claim(id, approver, nowMs)
  }

  releaseApproval(id: string, approver: string, nowMs: number): Approval | null {
    return this.approvals.release(id, approver, nowMs)
  }

  closeApproval(id: string, closing: Closing, nowMs: number): Approval | null {
    return this.approvals.close(id, closing, nowMs)
  }
}
