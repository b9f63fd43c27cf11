/**
 * Policy changes as operations (issue 20): propose a document on the current revision, approve or
 * reject a pending proposal, roll back to an earlier revision. Plain inputs in, an `Outcome` out.
 *
 * Who: a member the current policy allows `policy` (only an allow rule with `owner: any` grants
 * it: the policy belongs to no team). A proposal is checked as `policy:check` checks it, diffed
 * against the current revision (control/policy-diff.ts), and filed with the coordinator, which
 * refuses it if its base is no longer current, applies it at once if it does not widen access, or
 * keeps it pending for a second member allowed `policy`: the approval applies it exactly once
 * (coordinator/policy-revisions.ts). A rollback is a proposal of an earlier revision's document,
 * under the same rules. Every step is put on record before it is made (`policy_change`).
 */
import { canonical } from '../audit/signing'
import type { AuditLog } from '../audit/audit-log'
import type { AuditEntry } from '../audit/entry'
import type { AuditPort, Findings } from '../audit/record'
import type { RevisionStore } from '../coordinator/client'
import type { ProposalAnswer } from '../coordinator/policy-revisions'
import type { Principal } from '../identity/principal'
import { run, type Outcome } from '../kernel/operation'
import { GatewayError, detail } from '../lib/errors'
import { parsePolicy, type Policy } from '../policy/document'
import type { Authorizer } from '../policy/enforce'
import { policyDiff, summaryOf, type PolicyDiff } from './policy-diff'
import { PROPOSAL_TTL_MS, type Proposal } from './proposal'
import { newRevision } from './revision'
import { proposalsOf, revisionsDiff, type PolicyViewDeps } from './policy-views'
import { whatIf, type WhatIf } from './what-if'

export interface ControlDeps {
  principal: Principal
  who: Authorizer
  audit: AuditPort
  /** The current revision as this request holds it, and its id. */
  policy: Policy
  policyRevision: string | undefined
  mode: 'managed' | 'pinned'
  revisions: RevisionStore
}

/** The policy is nobody's: a team's own-team grants never reach it. */
const POLICY_FACTS = { ownerTeam: '_gateway' }

/** A diff as answered: the access differences capped (the counts are whole). */
export const MAX_LISTED_DIFFERENCES = 500

export interface ChangeReport {
  proposal: Proposal
  diff: Omit<PolicyDiff, 'access'> & {
    access: PolicyDiff['access'] & { listed_all: boolean }
  }
}

function allowed(deps: ControlDeps, found: Findings) {
  deps.who.requireAllowed(found, 'policy', POLICY_FACTS)
  if (deps.mode === 'pinned') throw GatewayError.of('POLICY_PINNED')
}

function refusalOf(answer: ProposalAnswer): GatewayError | null {
  switch (answer.outcome) {
    case 'applied':
    case 'pending':
    case 'rejected':
      return null
    case 'stale_base':
      return GatewayError.of('POLICY_BASE_STALE')
    case 'unchanged':
      return GatewayError.of('POLICY_UNCHANGED')
    case 'closed':
      return GatewayError.of('POLICY_PROPOSAL_CLOSED')
    case 'self':
      return GatewayError.of('POLICY_SELF_APPROVAL')
    case 'missing':
      return GatewayError.of('POLICY_PROPOSAL_NOT_FOUND')
  }
}

const capped = (diff: PolicyDiff): ChangeReport['diff'] => ({
  ...diff,
  access: {
    ...diff.access,
    differences: diff.access.differences.slice(0, MAX_LISTED_DIFFERENCES),
    listed_all: diff.access.differences.length <= MAX_LISTED_DIFFERENCES,
  },
})

const reported = (proposal: Proposal, diff: PolicyDiff): ChangeReport => ({
  proposal,
  diff: capped(diff),
})

/** Parses a proposed document as `policy:check` does: every problem with its pointer. */
function checked(document: unknown): { text: string; policy: Policy } {
  const text = canonical(document)
  const parsed = parsePolicy(text)
  if (!parsed.ok) {
    throw new GatewayError(
      400,
      parsed.problems.map((p) =>
        detail(
          'POLICY_DOCUMENT_INVALID',
          `policy${p.pointer}: ${p.message}`,
          `/document${p.pointer}`,
        ),
      ),
    )
  }
  return { text, policy: parsed.policy }
}

export interface ProposeInput {
  base: string
  document: unknown
  reason: string
  kind?: 'apply' | 'rollback'
}

export function proposeChange(
  deps: ControlDeps,
  input: ProposeInput,
  now = new Date(),
): Promise<Outcome<ChangeReport>> {
  return run({}, async (found) => {
    allowed(deps, found)
    const { text, policy } = checked(input.document)
    if (input.base !== deps.policyRevision) throw GatewayError.of('POLICY_BASE_STALE')
    const diff = policyDiff(deps.policy, policy, now)
    const revision = await newRevision(text, {
      parent: input.base,
      author: deps.principal.memberId,
      reason: input.reason,
      now,
    })
    const proposal: Proposal = {
      id: crypto.randomUUID(),
      kind: input.kind ?? 'apply',
      base: input.base,
      revision,
      author: deps.principal.memberId,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + PROPOSAL_TTL_MS).toISOString(),
      status: 'pending',
      widening: diff.widening,
      summary: summaryOf(diff),
    }
    found.policyChange = {
      proposal: proposal.id,
      kind: proposal.kind,
      verdict: 'propose',
      before: input.base,
      after: revision.id,
      summary: proposal.summary,
    }
    await deps.audit.beforeChange(found)
    const answer = await deps.revisions.propose(proposal)
    const refusal = refusalOf(answer)
    if (refusal !== null) throw refusal
    return reported(answer.proposal!, diff)
  })
}

/** A second member's approval (applies it) or a rejection of a pending proposal. */
export function decideChange(
  deps: ControlDeps,
  input: { id: string; verdict: 'approve' | 'reject' },
): Promise<Outcome<Proposal>> {
  return run({}, async (found) => {
    allowed(deps, found)
    const proposal = await deps.revisions.proposal(input.id)
    if (proposal === null) throw GatewayError.of('POLICY_PROPOSAL_NOT_FOUND')
    if (proposal.status !== 'pending') throw GatewayError.of('POLICY_PROPOSAL_CLOSED')
    if (input.verdict === 'approve' && proposal.author === deps.principal.memberId) {
      throw GatewayError.of('POLICY_SELF_APPROVAL')
    }
    found.policyChange = {
      proposal: proposal.id,
      kind: proposal.kind,
      verdict: input.verdict,
      before: proposal.base,
      after: proposal.revision.id,
      summary: proposal.summary,
    }
    await deps.audit.beforeChange(found)
    const answer = await deps.revisions.decide(input.id, deps.principal.memberId, input.verdict)
    const refusal = refusalOf(answer)
    if (refusal !== null) throw refusal
    return answer.proposal!
  })
}

/** Proposes an earlier revision's document again (a rollback), under the same rules. */
export async function rollBack(
  deps: ControlDeps,
  input: { to: string; base: string; reason: string },
  now = new Date(),
): Promise<Outcome<ChangeReport>> {
  const earlier = await run({}, async (found) => {
    allowed(deps, found)
    const revision = await deps.revisions.read(input.to)
    if (revision === null) throw GatewayError.of('POLICY_REVISION_NOT_FOUND')
    return revision
  })
  if (!earlier.ok) return earlier
  const document = JSON.parse(earlier.value.document) as unknown
  return proposeChange(deps, { ...input, document, kind: 'rollback' }, now)
}

/** A proposal as stored, for whoever may change the policy. */
export function readProposal(deps: ControlDeps, id: string): Promise<Outcome<Proposal>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'policy', POLICY_FACTS)
    const proposal = await deps.revisions.proposal(id)
    if (proposal === null) throw GatewayError.of('POLICY_PROPOSAL_NOT_FOUND')
    return proposal
  })
}

export interface CurrentPolicy {
  id: string
  mode: 'managed' | 'pinned'
  document: Record<string, unknown>
  history: Record<string, unknown>[]
}

/** The revision this request is served under, its document and the latest history. */
export function currentPolicy(
  deps: ControlDeps & { pinnedDocument: string },
  limit: number,
): Promise<Outcome<CurrentPolicy>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'policy', POLICY_FACTS)
    const id = deps.policyRevision ?? ''
    if (deps.mode === 'pinned') {
      const document = JSON.parse(deps.pinnedDocument) as Record<string, unknown>
      return { id, mode: deps.mode, document, history: [] }
    }
    const [revision, history] = await Promise.all([
      deps.revisions.read(id),
      deps.revisions.history(limit, null),
    ])
    if (revision === null) throw GatewayError.of('POLICY_REVISION_NOT_FOUND')
    const document = JSON.parse(revision.document) as Record<string, unknown>
    return { id, mode: deps.mode, document, history: history.map((row) => ({ ...row })) }
  })
}

// control-api: reading proposals and the diff of any two revisions.

/** How many proposals a listing reads from the coordinator at most (pending ones first). */
export const MAX_LISTED_PROPOSALS = 200

/** Proposals, newest first, optionally in one state; for whoever may change the policy. */
export function listProposals(
  deps: PolicyViewDeps,
  input: { status?: Proposal['status'] | undefined; limit: number },
): Promise<Outcome<Proposal[]>> {
  return proposalsOf(deps, { ...input, reading: MAX_LISTED_PROPOSALS })
}

export interface RevisionDiff {
  /** The older side (`against`) and the newer (`id`), as asked: the diff reads from one to the other. */
  from: string
  to: string
  diff: ChangeReport['diff']
  summary: string
}

/**
 * The structural and exhaustive access diff from revision `against` to revision `id` (any two
 * stored revisions, in either order), for whoever may change the policy. A missing one is 404.
 */
export async function diffRevisions(
  deps: PolicyViewDeps,
  input: { id: string; against: string },
  now = new Date(),
): Promise<Outcome<RevisionDiff>> {
  const read = await revisionsDiff(deps, { from: input.against, to: input.id }, now)
  if (!read.ok) return read
  const { from, to, diff, summary } = read.value
  return { ...read, value: { from: from.id, to: to.id, diff: capped(diff), summary } }
}

// control-api: the what-if replay of a proposal over the audit log.

/** The default window: the last 30 days. */
export const WHAT_IF_DAYS = 30
/**
 * list() calls one replay may spend (1000 summaries each, so up to 500,000 entries), well inside
 * KV's 1000 operations per invocation; past it the answer says where it stopped.
 */
export const WHAT_IF_LIST_BUDGET = 500

export interface ProposalWhatIf extends WhatIf {
  proposal: string
  /** The window replayed: from `since` to when the replay ran. */
  since: string
  until: string
  /** False when the list budget ran out first: `replayed_from` is then the oldest time read. */
  complete: boolean
  replayed_from: string | null
}

/**
 * The recorded requests of a window (default the last 30 days) decided again under a proposal's
 * document (control/what-if.ts), read from the audit log's summaries (list() only, no get() per
 * entry): per team and action, the decisions that would change, with sample entry ids, and what
 * could not be replayed. For whoever may change the policy.
 */
export function proposalWhatIf(
  deps: ControlDeps & { auditLog: AuditLog },
  input: { id: string; since?: string | undefined },
  now = new Date(),
): Promise<Outcome<ProposalWhatIf>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'policy', POLICY_FACTS)
    const proposal = await deps.revisions.proposal(input.id)
    if (proposal === null) throw GatewayError.of('POLICY_PROPOSAL_NOT_FOUND')
    const parsed = parsePolicy(proposal.revision.document)
    if (!parsed.ok) throw GatewayError.of('POLICY_PROPOSAL_NOT_FOUND')
    const to = now.getTime()
    const from =
      input.since === undefined ? to - WHAT_IF_DAYS * 86_400_000 : Date.parse(input.since)
    const budget = { lists: WHAT_IF_LIST_BUDGET }
    const read: AuditEntry[] = []
    const walk = deps.auditLog.entries({ range: { from, to, endsNow: true } }, budget)
    let next = await walk.next()
    while (next.done !== true) {
      read.push(next.value.entry)
      next = await walk.next()
    }
    // The walk returns where it stopped only when the list budget ran out first.
    const complete = next.value === undefined
    const oldest = read.reduce<string | null>(
      (min, entry) => (min === null || entry.time < min ? entry.time : min),
      null,
    )
    return {
      proposal: proposal.id,
      since: new Date(from).toISOString(),
      until: now.toISOString(),
      complete,
      replayed_from: oldest,
      ...whatIf(read, parsed.policy),
    }
  })
}
