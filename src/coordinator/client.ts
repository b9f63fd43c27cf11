/**
 * The Worker's side of the coordinator: the approvals port (approvals/store.ts), the ledger port
 * (ownership/ledger.ts) and the token budget port (upstream/budget-gate.ts), each implemented over
 * RPC to the instance that holds the state (shard.ts). Each method is one round trip. They fail
 * closed: an instance that cannot be reached (or that throws) is 503 COORDINATOR_UNAVAILABLE, and
 * the operation that asked stops before anything is forwarded. Nothing here retries by itself: a
 * claim or a lease that reached the coordinator but whose answer was lost must not count twice.
 */
import { approvalSchema, type Approval, type ApprovalStore } from '../approvals/store'
import { GatewayError } from '../lib/errors'
import { INTENT_TTL_MS, ownershipSchema, type Ledger } from '../ownership/ledger'
import { transferSchema, type Transfer, type TransferStore } from '../ownership/transfer-store'
import type { ChainPosition } from '../audit/chain'
import type { TokenBudget } from '../upstream/budget-gate'
import type { ChainLink, LinksInSpan } from './chain'
import type { Coordinator } from './index'
import type { MemberRateAnswer, MemberRateAsk } from './leases'
import type { Ack, DriftKey, NoticeAsk, NoticeRow, Pairing, SuccessorCheck } from './notices' // issue 23
import type { SnapshotSettings, SnapshotView } from '../snapshot/shapes' // issue 23: lifecycleView
import { accountsOfApproval, memberRateInstanceName, newApprovalId } from './shard'
// Issue 20: policy revisions.
import { revisionSchema, type CurrentAnswer, type Revision } from '../control/revision'
import type { ApplyAnswer, HistoryRow, ProposalAnswer } from './policy-revisions'
import { proposalSchema, type Proposal } from '../control/proposal'
import { POLICY_INSTANCE } from './shard'
import type { MemberKey, NewKey } from './member-keys' // issue 20, slice 4

type Instance = DurableObjectStub<Coordinator>
type Namespace = DurableObjectNamespace<Coordinator>

const instanceOf = (namespace: Namespace, name: string): Instance =>
  namespace.get(namespace.idFromName(name))

async function reaching<T>(rpc: () => Promise<T>): Promise<T> {
  try {
    return await rpc()
  } catch (error) {
    throw GatewayError.of('COORDINATOR_UNAVAILABLE', { cause: error })
  }
}

const parsed = (approval: unknown): Approval | null => {
  const result = approvalSchema.safeParse(approval)
  return result.success ? result.data : null
}

export function coordinatedApprovals(
  namespace: Namespace,
  accounts: readonly string[],
): ApprovalStore {
  const instance = (accountId: string) => instanceOf(namespace, accountId)

  /**
   * Asks each instance the id may belong to (usually one; none for an id of no policy account)
   * until one holds the approval.
   */
  async function onShard<T extends { approval: unknown }>(
    id: string,
    rpc: (at: Instance) => Promise<T>,
  ): Promise<T | null> {
    for (const account of accountsOfApproval(id, accounts)) {
      const answer = await reaching(async () => rpc(instance(account)))
      if (answer.approval !== null) return answer
    }
    return null
  }

  return {
    newId: newApprovalId,

    async put(approval) {
      await reaching(() => instance(approval.account_id).parkApproval(approval, Date.now()))
    },

    async get(id) {
      const found = await onShard(id, async (at) => ({
        approval: await at.approval(id, Date.now()),
      }))
      return parsed(found?.approval ?? null)
    },

    async claim(id, approver, now) {
      const claim = await onShard(id, (at) => at.claimApproval(id, approver, now.getTime()))
      return { claimed: claim?.claimed ?? false, approval: parsed(claim?.approval ?? null) }
    },

    async release(id, approver) {
      await onShard(id, async (at) => ({
        approval: await at.releaseApproval(id, approver, Date.now()),
      }))
    },

    async pending(accountId, page) {
      const answer = await reaching(() => instance(accountId).pendingApprovals(page, Date.now()))
      const approvals = answer.approvals.flatMap((a) => {
        const approval = parsed(a)
        return approval === null ? [] : [approval]
      })
      return { approvals, next: answer.next }
    },

    async close(id, closing, now) {
      await onShard(id, async (at) => ({
        approval: await at.closeApproval(id, closing, now.getTime()),
      }))
    },

    // Issue 22.
    async parkOnce(approval) {
      const answer = await reaching(() =>
        instance(approval.account_id).parkApprovalOnce(approval, Date.now()),
      )
      const stored = parsed(answer.approval)
      if (stored === null) throw new Error(`approval ${approval.id}: unreadable after parking`)
      return { approval: stored, existing: answer.existing }
    },

    async end(id, ending, now) {
      const answer = await onShard(id, (at) => at.endApproval(id, ending, now.getTime()))
      return { ended: answer?.ended ?? false, approval: parsed(answer?.approval ?? null) }
    },
  }
}

/** Transfer requests on each account's instance; ids carry their account's tag (shard.ts). */
export function coordinatedTransfers(
  namespace: Namespace,
  accounts: readonly string[],
): TransferStore {
  const at = (accountId: string) => instanceOf(namespace, accountId)
  const parse = (t: unknown): Transfer | null => {
    const result = transferSchema.safeParse(t)
    return result.success ? result.data : null
  }
  /** The one account instance that holds the id, if any. */
  async function holding(id: string): Promise<{ account: string; transfer: Transfer } | null> {
    for (const account of accountsOfApproval(id, accounts)) {
      const transfer = parse(await reaching(() => at(account).transfer(id, Date.now())))
      if (transfer !== null) return { account, transfer }
    }
    return null
  }
  return {
    newId: newApprovalId,
    async file(transfer) {
      const stored = await reaching(() =>
        at(transfer.account_id).fileTransfer(transfer, Date.now()),
      )
      const parsed = parse(stored)
      if (parsed === null) throw GatewayError.of('COORDINATOR_UNAVAILABLE')
      return parsed
    },
    async list(accountId) {
      const rows = await reaching(() => at(accountId).listTransfers(Date.now()))
      return rows.map(parse).filter((t): t is Transfer => t !== null)
    },
    get: async (id) => (await holding(id))?.transfer ?? null,
    async claim(accountId, id, approver) {
      const claim = await reaching(() => at(accountId).claimTransfer(id, approver, Date.now()))
      return { claimed: claim.claimed, transfer: parse(claim.transfer) }
    },
    reopen: (accountId, id, approver) => reaching(() => at(accountId).reopenTransfer(id, approver)),
    close: (accountId, id) => reaching(() => at(accountId).closeTransfer(id, Date.now())),
  }
}

/** The ownership ledger on each account's instance. */
export function coordinatedLedger(namespace: Namespace): Ledger {
  const at = (accountId: string) => instanceOf(namespace, accountId)
  return {
    async owner(accountId, certificateId) {
      const stored = await reaching(() => at(accountId).owner(certificateId))
      if (stored === null) return null
      // A record that does not parse is treated as no record: nobody but account-wide roles can
      // see the certificate until an admin assigns it again. Fails closed, never open.
      const parsed = ownershipSchema.safeParse(stored)
      return parsed.success ? parsed.data : null
    },
    // Issue 21 item 3: the owner and the audit entry's number in one round trip.
    async ownerNumbered(accountId, certificateId, numbering) {
      const stored = await reaching(() => at(accountId).ownerNumbered(certificateId, numbering))
      // As `owner`: a record that does not parse is no record (fails closed).
      const parsed = ownershipSchema.safeParse(stored.owner)
      return {
        owner: parsed.success ? parsed.data : null,
        position: stored.position,
        pairings: stored.pairings,
      }
    },
    owners: (accountId) => reaching(() => at(accountId).owners(Date.now())),
    intents: (accountId) => reaching(() => at(accountId).intents(Date.now())),
    assign: (accountId, certificateId, ownership) =>
      reaching(() => at(accountId).assignOwner(certificateId, ownership)),
    assignWithin: (accountId, certificateId, ownership, caQuota) =>
      reaching(() =>
        at(accountId).assignOwnerWithin(certificateId, ownership, caQuota, Date.now()),
      ),
    release: (accountId, certificateId) =>
      reaching(() => at(accountId).releaseOwner(certificateId)),
    recordIntent: (accountId, intent, caQuota) =>
      reaching(() => at(accountId).recordIntent(intent, caQuota, INTENT_TTL_MS, Date.now())),
    // Issue 21 item 3: the intent and the audit entry's number in one round trip.
    recordIntentNumbered: (accountId, intent, caQuota, numbering) =>
      reaching(() =>
        at(accountId).recordIntentNumbered(intent, caQuota, INTENT_TTL_MS, numbering, Date.now()),
      ),
    clearIntent: (accountId, requestId) => reaching(() => at(accountId).clearIntent(requestId)),
    confirmUpload: (accountId, certificateId, ownership) =>
      reaching(() => at(accountId).confirmUpload(certificateId, ownership)),
    adopt: (accountId, candidates, uploadWindowMs) =>
      reaching(() => at(accountId).adopt(candidates, uploadWindowMs, Date.now())),
    caHeldBy: (accountId, team) => reaching(() => at(accountId).caHeldBy(team, Date.now())),
  }
}

/** The token's budget and breaker on the token's instance. */
export function coordinatedBudget(
  namespace: Namespace,
  instanceName: Promise<string>,
): TokenBudget {
  const at = async () => instanceOf(namespace, await instanceName)
  return {
    lease: (ask) => reaching(async () => (await at()).lease(ask, Date.now())),
    trip: (untilMs) => reaching(async () => (await at()).tripBreaker(untilMs, Date.now())),
    close: () => reaching(async () => (await at()).closeBreaker(Date.now())),
    view: (plan, who) => reaching(async () => (await at()).budgetView(plan, who, Date.now())),
  }
}

/** Each member's request rate, on the member's instance. */
export interface MemberRates {
  ask(ask: MemberRateAsk): Promise<MemberRateAnswer>
}

export function coordinatedMemberRates(namespace: Namespace): MemberRates {
  return {
    ask: (ask) =>
      reaching(() =>
        instanceOf(namespace, memberRateInstanceName(ask.member)).memberRateAsk(ask, Date.now()),
      ),
  }
}

/** The audit chains (shard.ts says which instance holds which). */
export interface AuditChains {
  /** Numbers an entry about to be written under `kvKey` and links it to its chain's head. */
  append(chain: string, kvKey: string, head: Record<string, unknown>): Promise<ChainPosition>
  links(chain: string, fromSeq: number, limit: number): Promise<ChainLink[]>
  ends(chain: string): Promise<{ first: ChainLink | null; head: ChainLink | null }>
  /** The links of the entries whose KV keys lie in (`afterKey`, `upToKey`] (audit/verify.ts). */
  inSpan(chain: string, afterKey: string, upToKey: string, limit: number): Promise<LinksInSpan>
}

/** `retentionDays`: the log's retention, after which links are pruned with their entries. */
export function coordinatedChains(namespace: Namespace, retentionDays: number): AuditChains {
  const retentionMs = retentionDays * 86_400_000
  const at = (chain: string) => instanceOf(namespace, chain)
  return {
    append: (chain, kvKey, head) =>
      reaching(() => at(chain).appendAudit(chain, kvKey, head, retentionMs)),
    links: (chain, fromSeq, limit) => reaching(() => at(chain).auditLinks(fromSeq, limit)),
    ends: (chain) => reaching(() => at(chain).auditChainEnds()),
    inSpan: (chain, afterKey, upToKey, limit) =>
      reaching(() => at(chain).auditLinksInSpan(afterKey, upToKey, limit)),
  }
}

// Issue 23 (lifecycle): expiry notices on each account's instance (coordinator/notices.ts).
export interface NoticeStore {
  queue(accountId: string, asks: NoticeAsk[], nowMs: number): Promise<string[]>
  claim(accountId: string, limit: number, nowMs: number): Promise<NoticeRow[]>
  settle(
    accountId: string,
    id: string,
    result: { ok: boolean; reason?: string },
    nowMs: number,
    /** The policy's `lifecycle.retry_base_seconds`, in ms (default 60 s). */
    retryBaseMs?: number,
  ): Promise<NoticeRow | null>
  list(accountId: string): Promise<{ notices: NoticeRow[]; acks: Ack[] }>
  requeue(accountId: string, id: string, nowMs: number): Promise<boolean>
  acknowledge(accountId: string, ack: Ack): Promise<boolean>
  pair(accountId: string, pairing: Pairing): Promise<void>
  pairings(accountId: string): Promise<Pairing[]>
  /** Keeps what a check of the successor found (notices.ts recordCheck); false if not kept. */
  recordCheck(
    accountId: string,
    certificateId: string,
    successorId: string,
    check: SuccessorCheck,
  ): Promise<boolean>
  /** The account's owners, snapshot view (`settings` null: none), notices and pairings at once. */
  view(
    accountId: string,
    settings: SnapshotSettings | null,
    /** The list this isolate holds (snapshot/serve.ts askHolding): not sent again if current. */
    held?: string,
  ): Promise<LifecycleView>
  /** Drift: stores the list just read (JSON), answers the one before; given `nowMs`, also drops drift claims older than 90 days. */
  swapSeen(accountId: string, list: string, nowMs?: number): Promise<string | null>
  /** Drift: the changes this caller is granted to record (owned appeared and unowned vanished dropped). */
  claimDrift(
    accountId: string,
    keys: DriftKey[],
    nowMs: number,
  ): Promise<(DriftKey & { team: string | null })[]>
  /** Drift: the granted changes are recorded. */
  settleDrift(accountId: string, keys: DriftKey[], nowMs: number): Promise<void>
}

/** One account as the expiring list and the team calendar read it: one round trip. */
export interface LifecycleView {
  owners: Map<string, string>
  view: SnapshotView | null
  notices: NoticeRow[]
  acks: Ack[]
  pairings: Pairing[]
}

export function coordinatedNotices(namespace: Namespace): NoticeStore {
  const at = (accountId: string) => instanceOf(namespace, accountId)
  return {
    queue: (accountId, asks, nowMs) => reaching(() => at(accountId).queueNotices(asks, nowMs)),
    claim: (accountId, limit, nowMs) => reaching(() => at(accountId).claimNotices(limit, nowMs)),
    settle: (accountId, id, result, nowMs, retryBaseMs) =>
      reaching(() => at(accountId).settleNotice(id, result, nowMs, retryBaseMs)),
    list: (accountId) => reaching(() => at(accountId).listNotices()),
    requeue: (accountId, id, nowMs) => reaching(() => at(accountId).requeueNotice(id, nowMs)),
    acknowledge: (accountId, ack) => reaching(() => at(accountId).acknowledgeNotice(ack)),
    pair: (accountId, pairing) => reaching(() => at(accountId).pairSuccessor(pairing)),
    pairings: (accountId) => reaching(() => at(accountId).successorPairings()),
    recordCheck: (accountId, certificateId, successorId, check) =>
      reaching(() => at(accountId).recordSuccessorCheck(certificateId, successorId, check)),
    view: (accountId, settings, held) =>
      reaching(() => at(accountId).lifecycleView(settings, Date.now(), held)),
    swapSeen: (accountId, list, nowMs) => reaching(() => at(accountId).swapSeenList(list, nowMs)),
    claimDrift: (accountId, keys, nowMs) => reaching(() => at(accountId).claimDrift(keys, nowMs)),
    settleDrift: (accountId, keys, nowMs) => reaching(() => at(accountId).settleDrift(keys, nowMs)),
  }
}
// Issue 20: policy revisions, on the `gateway` instance (coordinator/policy-revisions.ts).

/** The policy's revisions: what every isolate asks for the current one, and what changes it. */
export interface RevisionStore {
  /** The current revision's id, with its document when it is not `knownId`. */
  current(knownId: string | null): Promise<CurrentAnswer>
  /** Stores `revision` as the first one if none is current; answers the current one. */
  bootstrap(revision: Revision): Promise<CurrentAnswer>
  apply(revision: Revision, baseId: string, kind: 'apply' | 'rollback'): Promise<ApplyAnswer>
  read(id: string): Promise<Revision | null>
  history(limit: number, beforeSeq: number | null): Promise<HistoryRow[]>
  propose(proposal: Proposal): Promise<ProposalAnswer>
  decide(id: string, by: string, verdict: 'approve' | 'reject'): Promise<ProposalAnswer>
  proposal(id: string): Promise<Proposal | null>
  proposals(limit: number): Promise<Proposal[]>
}

export function coordinatedRevisions(namespace: Namespace): RevisionStore {
  const at = () => instanceOf(namespace, POLICY_INSTANCE)
  return {
    current: (knownId) => reaching(() => at().policyCurrent(knownId)),
    bootstrap: (revision) => reaching(() => at().policyBootstrap(revision)),
    apply: (revision, baseId, kind) => reaching(() => at().policyApply(revision, baseId, kind)),
    async read(id) {
      const stored = await reaching(() => at().policyRevision(id))
      // A stored revision that does not parse is treated as none: never served half-understood.
      const parsed = revisionSchema.safeParse(stored)
      return parsed.success ? parsed.data : null
    },
    history: (limit, beforeSeq) => reaching(() => at().policyHistory(limit, beforeSeq)),
    propose: (proposal) => reaching(() => at().policyPropose(proposal, Date.now())),
    decide: (id, by, verdict) => reaching(() => at().policyDecide(id, by, verdict, Date.now())),
    async proposal(id) {
      const parsed = proposalSchema.safeParse(
        await reaching(() => at().policyProposal(id, Date.now())),
      )
      return parsed.success ? parsed.data : null
    },
    async proposals(limit) {
      const rows = await reaching(() => at().policyProposals(limit, Date.now()))
      return rows.flatMap((row) => {
        const parsed = proposalSchema.safeParse(row)
        return parsed.success ? [parsed.data] : []
      })
    },
  }
}

// Issue 20, slice 4: member keys, on the `gateway` instance (coordinator/member-keys.ts).

/** The member keys' table: what authentication asks, and what the members API changes. */
export interface MemberKeyStore {
  use(keySha256: string): Promise<{ key: MemberKey | null; version: number }>
  mint(key: NewKey): Promise<{ outcome: 'minted' | 'member_elsewhere'; version: number }>
  rotate(
    oldKeyId: string,
    member: string,
    key: NewKey,
    graceMs: number,
  ): Promise<{ outcome: 'rotated' | 'missing' | 'ended'; old: MemberKey | null; version: number }>
  revoke(keyId: string): Promise<{ key: MemberKey | null; version: number }>
  read(keyId: string): Promise<MemberKey | null>
  list(team: string | null): Promise<MemberKey[]>
}

export function coordinatedMemberKeys(namespace: Namespace): MemberKeyStore {
  const at = () => instanceOf(namespace, POLICY_INSTANCE)
  return {
    use: (hash) => reaching(() => at().memberKeyUse(hash, Date.now())),
    mint: (key) => reaching(() => at().memberKeyMint(key)),
    rotate: (oldKeyId, member, key, graceMs) =>
      reaching(() => at().memberKeyRotate(oldKeyId, member, key, graceMs, Date.now())),
    revoke: (keyId) => reaching(() => at().memberKeyRevoke(keyId, Date.now())),
    read: (keyId) => reaching(() => at().memberKeyRead(keyId)),
    list: (team) => reaching(() => at().memberKeyList(team)),
  }
}
