/**
 * The coordinator: a SQLite-backed Durable Object for what must have exactly one answer across
 * isolates and locations. It owns no policy and never calls the upstream: it only keeps state and
 * makes its transitions atomic. A Durable Object runs one call at a time per instance, and each
 * method here is synchronous SQL with no `await`, so a check and its update can never interleave
 * with another request's.
 *
 * Three kinds of instance, of the one class (coordinator/shard.ts names them):
 *   - one per Cloudflare account: the ownership ledger and upload intents (ledger.ts), the CA
 *     quota check, approvals (approvals.ts), transfer requests (transfers.ts);
 *   - one per upstream token: the token's budget and breaker (budget.ts);
 *   - one per member: the member's request rate (member-rate.ts).
 * and the audit's chain (chain.ts) on the account's instance for that account's entries, on the
 * instance named `gateway` for the rest.
 * Each concern is a module over `ctx.storage.sql` with its own tables, declared as versioned
 * migrations (schema.ts) and migrated the first time an instance uses the module after it starts:
 * an instance creates only the tables of its kind, and picks up a new migration on its next call.
 */
import { DurableObject } from 'cloudflare:workers'
import type { Approval, Claim, Closing, PendingPage } from '../approvals/store'
// Issue 22.
import type { Ending } from '../approvals/store'
import type { ChainAsk, ChainPosition } from '../audit/chain'
import type {
  Adopted,
  AdoptionCandidate,
  IntentAdmission,
  IntentSummary,
  Ownership,
  UploadIntent,
} from '../ownership/ledger'
import { APPROVALS_SCHEMA, approvalTable } from './approvals'
import type { BudgetPlan } from '../policy/limits'
import { BUDGET_SCHEMA, budgetTables } from './budget'
import type { BudgetView, LeaseAnswer, LeaseAsk, MemberRateAnswer, MemberRateAsk } from './leases'
import { MEMBER_RATE_SCHEMA, memberRateTable } from './member-rate'
import { LEDGER_SCHEMA, ledgerTables } from './ledger'
import { CHAIN_SCHEMA, chainTable, type ChainLink, type LinksInSpan } from './chain'
import { migrate, type Schema } from './schema'
import { TRANSFERS_SCHEMA, transferTable } from './transfers'
// Issue 23 (lifecycle): expiry notices and acknowledgements.
import {
  NOTICES_SCHEMA,
  noticeTables,
  type Ack,
  type NoticeAsk,
  type NoticeRow,
  type Pairing,
  type DriftKey, // issue 23: drift on refresh
  type SuccessorCheck, // issue 23: successor readiness
} from './notices'
import { ALARM_FLOOR_MS, canDeliver, noticeSender } from './notice-alarm' // issue 23: retries
import type { Transfer } from '../ownership/transfer-store'
// Issue 21: the account snapshot.
import { SNAPSHOT_SCHEMA, snapshotTable } from './snapshot'
import type { SnapshotItem, SnapshotSettings, SnapshotView } from '../snapshot/shapes'
// Issue 20: policy revisions (on the `gateway` instance).
import type { CurrentAnswer, Revision } from '../control/revision'
import {
  POLICY_REVISIONS_SCHEMA,
  policyRevisionTables,
  type ApplyAnswer,
  type HistoryRow,
  type ProposalAnswer,
} from './policy-revisions'
import type { Proposal } from '../control/proposal'
// Issue 20, slice 4: member keys (on the `gateway` instance).
import { MEMBER_KEYS_SCHEMA, memberKeyTables, type MemberKey, type NewKey } from './member-keys'

/** Each module of the coordinator: its schema, and how to open it once migrated. */
const COORDINATOR_MODULES = {
  approvals: {
    schema: APPROVALS_SCHEMA,
    open: (ctx: DurableObjectState) => approvalTable(ctx.storage.sql),
  },
  ledger: {
    schema: LEDGER_SCHEMA,
    open: (ctx: DurableObjectState) => ledgerTables(ctx.storage.sql),
  },
  budget: {
    schema: BUDGET_SCHEMA,
    open: (ctx: DurableObjectState) => budgetTables(ctx.storage.sql),
  },
  chain: { schema: CHAIN_SCHEMA, open: (ctx: DurableObjectState) => chainTable(ctx) },
  memberRate: {
    schema: MEMBER_RATE_SCHEMA,
    open: (ctx: DurableObjectState) => memberRateTable(ctx.storage.sql),
  },
  transfers: {
    schema: TRANSFERS_SCHEMA,
    open: (ctx: DurableObjectState) => transferTable(ctx.storage.sql),
  },
  // Issue 21: the account snapshot (per account).
  snapshot: {
    schema: SNAPSHOT_SCHEMA,
    open: (ctx: DurableObjectState) => snapshotTable(ctx.storage.sql),
  },
  // Issue 23 (lifecycle)
  notices: {
    schema: NOTICES_SCHEMA,
    open: (ctx: DurableObjectState) => noticeTables(ctx.storage),
  },
  // Issue 20: policy revisions (on the `gateway` instance).
  policyRevisions: {
    schema: POLICY_REVISIONS_SCHEMA,
    open: (ctx: DurableObjectState) => policyRevisionTables(ctx.storage.sql),
  },
  // Issue 20, slice 4: member keys (on the `gateway` instance).
  memberKeys: {
    schema: MEMBER_KEYS_SCHEMA,
    open: (ctx: DurableObjectState) => memberKeyTables(ctx.storage.sql),
  },
} satisfies Record<string, { schema: Schema; open: (ctx: DurableObjectState) => unknown }>

type Modules = typeof COORDINATOR_MODULES
type Opened = { [K in keyof Modules]: ReturnType<Modules[K]['open']> }

/** A module of this instance, migrated and opened on first use (no `await`: atomic as any call). */
export function opened<K extends keyof Modules>(
  ctx: DurableObjectState,
  cache: Partial<Opened>,
  name: K,
): Opened[K] {
  const known = cache[name]
  if (known !== undefined) return known
  const { schema, open } = COORDINATOR_MODULES[name]
  migrate(ctx.storage, schema)
  const module = open(ctx) as Opened[K]
  cache[name] = module
  return module
}

export class Coordinator extends DurableObject<Env> {
  private readonly modules: Partial<Opened> = {}

  private get approvals() {
    return opened(this.ctx, this.modules, 'approvals')
  }
  private get ledger() {
    return opened(this.ctx, this.modules, 'ledger')
  }
  private get budget() {
    return opened(this.ctx, this.modules, 'budget')
  }
  private get chain() {
    return opened(this.ctx, this.modules, 'chain')
  }
  private get memberRate() {
    return opened(this.ctx, this.modules, 'memberRate')
  }
  private get transfers() {
    return opened(this.ctx, this.modules, 'transfers')
  }
  // Issue 21: the account snapshot.
  private get snapshot() {
    return opened(this.ctx, this.modules, 'snapshot')
  }

  // Issue 23 (lifecycle)
  private get notices() {
    return opened(this.ctx, this.modules, 'notices')
  }

  // Issue 20: policy revisions (on the `gateway` instance, shard.ts `POLICY_INSTANCE`)

  private get policyRevisions() {
    return opened(this.ctx, this.modules, 'policyRevisions')
  }

  policyCurrent(knownId: string | null): CurrentAnswer {
    // Issue 20, slice 4: the keys version rides on the per-second refresh (no extra round trip).
    return {
      ...this.policyRevisions.current(knownId),
      keysVersion: this.memberKeys.version(),
      // control-api: how many working keys carry no check value (identity/table-keys.ts).
      uncheckedKeys: this.memberKeys.unchecked(Date.now()),
    }
  }

  policyBootstrap(revision: Revision): CurrentAnswer {
    return this.policyRevisions.bootstrap(revision)
  }

  policyApply(revision: Revision, baseId: string, kind: 'apply' | 'rollback'): ApplyAnswer {
    return this.policyRevisions.apply(revision, baseId, kind)
  }

  policyRevision(id: string): Revision | null {
    return this.policyRevisions.read(id)
  }

  policyHistory(limit: number, beforeSeq: number | null): HistoryRow[] {
    return this.policyRevisions.history(limit, beforeSeq)
  }

  policyPropose(proposal: Proposal, nowMs: number): ProposalAnswer {
    return this.policyRevisions.propose(proposal, nowMs)
  }

  policyDecide(
    id: string,
    by: string,
    verdict: 'approve' | 'reject',
    nowMs: number,
  ): ProposalAnswer {
    return this.policyRevisions.decideProposal(id, by, verdict, nowMs)
  }

  policyProposal(id: string, nowMs: number): Proposal | null {
    return this.policyRevisions.proposal(id, nowMs)
  }

  policyProposals(limit: number, nowMs: number): Proposal[] {
    return this.policyRevisions.proposals(limit, nowMs)
  }

  // Issue 20, slice 4: member keys (on the `gateway` instance, coordinator/member-keys.ts)

  private get memberKeys() {
    return opened(this.ctx, this.modules, 'memberKeys')
  }

  memberKeyUse(keySha256: string, nowMs: number): { key: MemberKey | null; version: number } {
    return this.memberKeys.use(keySha256, nowMs)
  }

  memberKeyMint(key: NewKey) {
    return this.memberKeys.mint(key)
  }

  memberKeyRotate(oldKeyId: string, member: string, key: NewKey, graceMs: number, nowMs: number) {
    return this.memberKeys.rotate(oldKeyId, member, key, graceMs, nowMs)
  }

  memberKeyRevoke(keyId: string, nowMs: number) {
    return this.memberKeys.revoke(keyId, nowMs)
  }

  memberKeyRead(keyId: string): MemberKey | null {
    return this.memberKeys.read(keyId)
  }

  memberKeyList(team: string | null): MemberKey[] {
    return this.memberKeys.list(team)
  }

  // Transfer requests (per account)

  fileTransfer(transfer: Transfer, nowMs: number): Transfer {
    return this.transfers.file(transfer, nowMs)
  }

  listTransfers(nowMs: number): Transfer[] {
    return this.transfers.list(nowMs)
  }

  transfer(id: string, nowMs: number): Transfer | null {
    return this.transfers.read(id, nowMs)
  }

  claimTransfer(
    id: string,
    approver: string,
    nowMs: number,
  ): { claimed: boolean; transfer: Transfer | null } {
    return this.transfers.claim(id, approver, nowMs)
  }

  reopenTransfer(id: string, approver: string): void {
    this.transfers.reopen(id, approver)
  }

  closeTransfer(id: string, nowMs: number): void {
    this.transfers.close(id, nowMs)
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

  // Issue 22: one open approval per certificate; withdraw, reject, gone.
  parkApprovalOnce(approval: Approval, nowMs: number): { approval: Approval; existing: boolean } {
    return this.approvals.parkOnce(approval, nowMs)
  }

  endApproval(
    id: string,
    ending: Ending,
    nowMs: number,
  ): { ended: boolean; approval: Approval | null } {
    return this.approvals.end(id, ending, nowMs)
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

  assignOwnerWithin(
    certificateId: string,
    ownership: Ownership,
    caQuota: number | null,
    nowMs: number,
  ): IntentAdmission {
    return this.ledger.assignWithin(certificateId, ownership, caQuota, nowMs)
  }

  recordIntent(
    intent: UploadIntent,
    caQuota: number | null,
    ttlMs: number,
    nowMs: number,
  ): IntentAdmission {
    return this.ledger.recordIntent(intent, caQuota, ttlMs, nowMs)
  }

  // Issue 21 item 3: an upload's intent, its CA quota check and its audit entry's number in one
  // round trip. The entry is numbered only when the intent is admitted: a refused upload changes
  // nothing, and its entry is chained after the response like a read's. The intent is stored
  // before the append (synchronously), so the two need no common lock.
  async recordIntentNumbered(
    intent: UploadIntent,
    caQuota: number | null,
    ttlMs: number,
    numbering: ChainAsk | undefined,
    nowMs: number,
  ): Promise<IntentAdmission & { position: ChainPosition | null }> {
    const admission = this.ledger.recordIntent(intent, caQuota, ttlMs, nowMs)
    if (!admission.admitted || numbering === undefined) return { ...admission, position: null }
    const { chain, kvKey, head, retentionMs } = numbering
    return {
      ...admission,
      position: await this.chain.append(chain, kvKey, head, retentionMs, Date.now()),
    }
  }

  // Issue 21 item 3: a delete's owner and its audit entry's number in one round trip. The number
  // is taken before the policy decides; a refused delete's entry is written under it after the
  // response.
  async ownerNumbered(
    certificateId: string,
    numbering: ChainAsk | undefined,
  ): Promise<{ owner: Ownership | null; position: ChainPosition | null; pairings: Pairing[] }> {
    const owner = this.ledger.owner(certificateId)
    // Issue 23's rotation gate reads the certificate's successor pairing: it comes along.
    const pairings = this.notices.pairings().filter((p) => p.certificate_id === certificateId)
    if (numbering === undefined) return { owner, position: null, pairings }
    const { chain, kvKey, head, retentionMs } = numbering
    const position = await this.chain.append(chain, kvKey, head, retentionMs, Date.now())
    return { owner, position, pairings }
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

  tripBreaker(untilMs: number, nowMs: number): void {
    this.budget.trip(untilMs, nowMs)
  }

  closeBreaker(nowMs: number): { wasOpenUntilMs: number } {
    return this.budget.close(nowMs)
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

  auditLinksInSpan(afterKey: string, upToKey: string, limit: number): LinksInSpan {
    return { ...this.chain.linksInSpan(afterKey, upToKey, limit), first: this.chain.first() }
  }

  auditChainEnds(): { first: ChainLink | null; head: ChainLink | null } {
    return { first: this.chain.first(), head: this.chain.head() }
  }

  // Issue 21: the account snapshot (per account). A read's owners, intents and snapshot come in
  // one answer, so a served read costs the round trip a read cost before; a write's owner and
  // its write-through are one step.

  snapshotList(
    settings: SnapshotSettings,
    nowMs: number,
    held?: string,
  ): { owners: Map<string, string>; intents: IntentSummary[]; view: SnapshotView } {
    const view = this.snapshot.view(settings, nowMs, undefined, held)
    return { ...this.ledger.owners(nowMs), view }
  }

  snapshotGet(
    certificateId: string,
    settings: SnapshotSettings,
    nowMs: number,
  ): { owner: Ownership | null; intents: IntentSummary[]; view: SnapshotView } {
    return {
      owner: this.ledger.owner(certificateId),
      intents: this.ledger.intents(nowMs),
      view: this.snapshot.view(settings, nowMs, certificateId),
    }
  }

  snapshotStore(
    claim: string | null,
    listStartedMs: number,
    frame: string,
    items: SnapshotItem[],
  ): number {
    return this.snapshot.store(claim, listStartedMs, frame, items)
  }

  snapshotPut(item: SnapshotItem, nowMs: number): number {
    return this.snapshot.put(item, nowMs)
  }

  snapshotRemove(certificateId: string, nowMs: number): number {
    return this.snapshot.remove(certificateId, nowMs)
  }

  confirmUploadStored(
    certificateId: string,
    ownership: Ownership,
    item: SnapshotItem,
    nowMs: number,
  ): number {
    this.ledger.confirmUpload(certificateId, ownership)
    return this.snapshot.put(item, nowMs)
  }

  snapshotAssociations(
    certificateId: string,
    settings: SnapshotSettings,
    ttlMs: number,
    nowMs: number,
  ): {
    owner: Ownership | null
    intents: IntentSummary[]
    view: SnapshotView
    associations: { body: string | null; fetchedAtMs: number | null; claim: string | null }
  } {
    return {
      ...this.snapshotGet(certificateId, settings, nowMs),
      associations: this.snapshot.associations(certificateId, ttlMs, settings.claimMs, nowMs),
    }
  }

  snapshotStoreAssociations(
    certificateId: string,
    claim: string | null,
    body: string,
    fetchedAtMs: number,
  ): void {
    this.snapshot.storeAssociations(certificateId, claim, body, fetchedAtMs)
  }

  releaseOwnerStored(certificateId: string, nowMs: number): number {
    this.ledger.release(certificateId)
    return this.snapshot.remove(certificateId, nowMs)
  }

  // Expiry notices and acknowledgements (per account; issue 23, coordinator/notices.ts)

  async queueNotices(asks: NoticeAsk[], nowMs: number): Promise<string[]> {
    const created = this.notices.queue(asks, nowMs)
    await this.armNotices(nowMs)
    return created
  }

  async claimNotices(limit: number, nowMs: number): Promise<NoticeRow[]> {
    const claimed = this.notices.claim(limit, nowMs)
    await this.armNotices(nowMs)
    return claimed
  }

  async settleNotice(
    id: string,
    result: { ok: boolean; reason?: string },
    nowMs: number,
    retryBaseMs?: number,
  ) {
    const settled = this.notices.settle(id, result, nowMs, retryBaseMs)
    await this.armNotices(nowMs)
    return settled
  }

  listNotices(): { notices: NoticeRow[]; acks: Ack[] } {
    return { notices: this.notices.list(), acks: this.notices.acks() }
  }

  async requeueNotice(id: string, nowMs: number): Promise<boolean> {
    const requeued = this.notices.requeue(id, nowMs)
    await this.armNotices(nowMs)
    return requeued
  }

  acknowledgeNotice(ack: Ack): boolean {
    return this.notices.acknowledge(ack)
  }

  pairSuccessor(pairing: Pairing): void {
    this.notices.pair(pairing)
  }

  successorPairings(): Pairing[] {
    return this.notices.pairings()
  }

  recordSuccessorCheck(certificateId: string, successorId: string, check: SuccessorCheck): boolean {
    return this.notices.recordCheck(certificateId, successorId, check)
  }

  // Issue 23: what the expiring list reads of one account, in one round trip: its owners, its
  // snapshot's view (when the policy keeps one; a stale one's refresh claim as snapshotList
  // grants it), its notices and acknowledgements, and its pairings with their last checks.
  lifecycleView(
    settings: SnapshotSettings | null,
    nowMs: number,
    held?: string,
  ): {
    owners: Map<string, string>
    view: SnapshotView | null
    notices: NoticeRow[]
    acks: Ack[]
    pairings: Pairing[]
  } {
    return {
      owners: this.ledger.owners(nowMs).owners,
      view: settings === null ? null : this.snapshot.view(settings, nowMs, undefined, held),
      ...this.listNotices(),
      pairings: this.notices.pairings(),
    }
  }

  /** Each run of the watch, per account: the list swapped, and drift claims past their age pruned. */
  swapSeenList(list: string, nowMs?: number): string | null {
    if (nowMs !== undefined) this.notices.pruneDrift(nowMs)
    return this.notices.swapSeen(list)
  }

  // Lifecycle (issue 23): drift on each snapshot refresh. The ledger is this instance's, so the
  // owner test and the claim are one step: an owned certificate that appeared was the gateway's
  // upload, a vanished one nobody owns cannot be told from the gateway's own delete.
  claimDrift(keys: DriftKey[], nowMs: number): (DriftKey & { team: string | null })[] {
    const candidates = keys.flatMap((key) => {
      const team = this.ledger.owner(key.certificate_id)?.team ?? null
      if (key.change === 'appeared' ? team !== null : team === null) return []
      return [{ ...key, team }]
    })
    const granted = new Set(
      this.notices.claimDrift(candidates, nowMs).map((k) => `${k.certificate_id}|${k.change}`),
    )
    return candidates.filter((c) => granted.has(`${c.certificate_id}|${c.change}`))
  }

  settleDrift(keys: DriftKey[], nowMs: number): void {
    this.notices.settleDrift(keys, nowMs)
  }

  // Lifecycle (issue 23): retries on this instance's alarm (coordinator/notice-alarm.ts). The alarm
  // serves notices alone today; another concern that needs one arms the earliest of its time and
  // `notices.nextDue()`, and asks each concern in `alarm()`.
  private async armNotices(nowMs: number, floorMs = 0): Promise<void> {
    if (!canDeliver(this.env)) return
    const due = this.notices.nextDue()
    // Nothing pending (a claim armed it at its lease's end, then the notice was settled).
    if (due === null) await this.ctx.storage.deleteAlarm()
    else await this.ctx.storage.setAlarm(Math.max(due, nowMs + floorMs))
  }

  override async alarm(): Promise<void> {
    const send = noticeSender()
    const accountId = this.notices.accountId()
    if (send === undefined || accountId === null || !canDeliver(this.env)) return
    try {
      await send(this.env, accountId, Date.now())
    } catch (error) {
      console.error('notice delivery on the alarm failed', error)
    }
    await this.armNotices(Date.now(), ALARM_FLOOR_MS)
  }
}
