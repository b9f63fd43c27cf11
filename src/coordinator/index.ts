/**
 * The coordinator: a SQLite-backed Durable Object for what must have exactly one answer across
 * isolates and locations. It owns no policy and never calls the upstream: it only keeps state and
 * makes its transitions atomic. A Durable Object runs one call at a time per instance, and each
 * method here is synchronous SQL with no `await`, so a check and its update can never interleave
 * with another request's.
 *
 * Three kinds of instance, of the one class (coordinator/shard.ts names them):
 *   - one per Cloudflare account: the ownership ledger and upload intents (ledger.ts), the CA
 *     quota check, approvals (approvals.ts);
 *   - one per upstream token: the token's budget and breaker (budget.ts);
 *   - one per member: the member's request rate (member-rate.ts).
 * and the audit's chain (chain.ts) on the account's instance for that account's entries, on the
 * instance named `gateway` for the rest.
 * Each concern is a module over `ctx.storage.sql` with its own tables, created (if missing) before
 * the first call is served; an instance simply never touches the tables of the other kind.
 */
import { DurableObject } from 'cloudflare:workers'
import type { Approval, Claim, Closing, PendingPage } from '../approvals/store'
import type { ChainPosition } from '../audit/chain'
import type {
  Adopted,
  AdoptionCandidate,
  IntentAdmission,
  IntentSummary,
  Ownership,
  UploadIntent,
} from '../ownership/ledger'
import { approvalTable } from './approvals'
import type { BudgetPlan } from '../policy/limits'
import { budgetTables } from './budget'
import type { BudgetView, LeaseAnswer, LeaseAsk, MemberRateAnswer, MemberRateAsk } from './leases'
import { memberRateTable } from './member-rate'
import { ledgerTables } from './ledger'
import { chainTable, type ChainLink } from './chain'

export class Coordinator extends DurableObject<Env> {
  private readonly approvals: ReturnType<typeof approvalTable>
  private readonly ledger: ReturnType<typeof ledgerTables>
  private readonly budget: ReturnType<typeof budgetTables>
  private readonly chain: ReturnType<typeof chainTable>
  private readonly memberRate: ReturnType<typeof memberRateTable>

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.approvals = approvalTable(ctx.storage.sql)
    this.ledger = ledgerTables(ctx.storage.sql)
    this.budget = budgetTables(ctx.storage.sql)
    this.chain = chainTable(ctx)
    this.memberRate = memberRateTable(ctx.storage.sql)
  }

  // Approvals (per account)

  parkApproval(approval: Approval, nowMs: number): void {
    this.approvals.park(approval, nowMs)
  }

  approval(id: string, nowMs: number): Approval | null {
    return this.approvals.read(id, nowMs)
  }

  pendingApprovals(
    page: PendingPage,
    nowMs: number,
  ): { approvals: Approval[]; next: string | null } {
    return this.approvals.pending(page, nowMs)
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

  // The ownership ledger (per account)

  owner(certificateId: string): Ownership | null {
    return this.ledger.owner(certificateId)
  }

  owners(nowMs: number): { owners: Map<string, string>; intents: IntentSummary[] } {
    return this.ledger.owners(nowMs)
  }

  intents(nowMs: number): IntentSummary[] {
    return this.ledger.intents(nowMs)
  }

  assignOwner(certificateId: string, ownership: Ownership): void {
    this.ledger.assign(certificateId, ownership)
  }

  releaseOwner(certificateId: string): void {
    this.ledger.release(certificateId)
  }

  recordIntent(
    intent: UploadIntent,
    caQuota: number | null,
    ttlMs: number,
    nowMs: number,
  ): IntentAdmission {
    return this.ledger.recordIntent(intent, caQuota, ttlMs, nowMs)
  }

  clearIntent(requestId: string): void {
    this.ledger.clearIntent(requestId)
  }

  confirmUpload(certificateId: string, ownership: Ownership): void {
    this.ledger.confirmUpload(certificateId, ownership)
  }

  adopt(candidates: AdoptionCandidate[], uploadWindowMs: number, nowMs: number): Adopted[] {
    return this.ledger.adopt(candidates, uploadWindowMs, nowMs)
  }

  caHeldBy(team: string, nowMs: number): number {
    return this.ledger.caHeldBy(team, nowMs)
  }

  // The token's budget and breaker (per token)

  lease(ask: LeaseAsk, nowMs: number): LeaseAnswer {
    return this.budget.lease(ask, nowMs)
  }

  tripBreaker(untilMs: number): void {
    this.budget.trip(untilMs)
  }

  budgetView(
    plan: BudgetPlan,
    who: { team: string; member: string; memberLimit: number | null },
    nowMs: number,
  ): BudgetView {
    return this.budget.view(plan, who, nowMs)
  }

  // A member's request rate (per member)

  memberRateAsk(ask: MemberRateAsk, nowMs: number): MemberRateAnswer {
    return this.memberRate.ask(ask, nowMs)
  }

  // The audit's chain (per account, and `gateway`)

  appendAudit(
    chain: string,
    kvKey: string,
    head: Record<string, unknown>,
    retentionMs: number,
  ): Promise<ChainPosition> {
    return this.chain.append(chain, kvKey, head, retentionMs, Date.now())
  }

  auditLinks(fromSeq: number, limit: number): ChainLink[] {
    return this.chain.links(fromSeq, limit)
  }

  auditChainEnds(): { first: ChainLink | null; head: ChainLink | null } {
    return { first: this.chain.first(), head: this.chain.head() }
  }
}
