/**
 * Reading the policy's revisions and proposals for the console (issue 20, item 7), as operations:
 * the diff of any two stored revisions, the list of proposals, and one proposal with the diff it
 * was filed with (its base against its revision, worked out again: the store keeps the summary,
 * not the cases). Only a member the policy allows `policy` reads them, as the API's
 * `GET /gateway/v1/policy` asks.
 *
 * The API's endpoints for the same reads (control/propose.ts) are these, shaped for JSON.
 */
import type { RevisionStore } from '../coordinator/client'
import type { HistoryRow } from '../coordinator/policy-revisions'
import { run, type Outcome } from '../kernel/operation'
import { GatewayError } from '../lib/errors'
import { parsePolicy, type Policy } from '../policy/document'
import type { Authorizer } from '../policy/enforce'
import { policyDiff, summaryOf, type PolicyDiff } from './policy-diff'
import type { Proposal } from './proposal'
import type { Revision } from './revision'

export interface PolicyViewDeps {
  who: Authorizer
  revisions: RevisionStore
  mode: 'managed' | 'pinned'
}

/** The policy is nobody's: a team's own-team grants never reach it (control/propose.ts). */
const POLICY_FACTS = { ownerTeam: '_gateway' }

/** Whether the member may read and change the policy (the console's navigation asks it too). */
export const mayChangePolicy = (who: Authorizer) =>
  who.decide('policy', POLICY_FACTS).effect === 'allow'

/** A stored revision's document, parsed; a stored one that does not parse is not served. */
function policyOf(revision: Revision): Policy {
  const parsed = parsePolicy(revision.document)
  if (!parsed.ok) {
    throw GatewayError.of('POLICY_UNAVAILABLE', {
      cause: new Error(`revision ${revision.id} does not parse`),
    })
  }
  return parsed.policy
}

async function revisionOf(revisions: RevisionStore, id: string): Promise<Revision> {
  const revision = await revisions.read(id)
  if (revision === null) throw GatewayError.of('POLICY_REVISION_NOT_FOUND')
  return revision
}

export interface RevisionsDiff {
  from: Revision
  to: Revision
  diff: PolicyDiff
  summary: string
}

/**
 * What changes from revision `from` to revision `to` (any two stored revisions, either order),
 * structurally and case by case. A missing one is 404.
 */
export function revisionsDiff(
  deps: PolicyViewDeps,
  input: { from: string; to: string },
  now = new Date(),
): Promise<Outcome<RevisionsDiff>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'policy', POLICY_FACTS)
    const [from, to] = await Promise.all([
      revisionOf(deps.revisions, input.from),
      revisionOf(deps.revisions, input.to),
    ])
    const diff = policyDiff(policyOf(from), policyOf(to), now)
    return { from, to, diff, summary: summaryOf(diff) }
  })
}

/**
 * The proposals, newest first, optionally in one state: of the latest `reading` the store keeps.
 * Pinned mode lists none, as it shows no history (docs/policy.md): nothing can be filed or applied
 * there; one filed while managed still opens by its id (`proposalView`).
 */
export function proposalsOf(
  deps: PolicyViewDeps,
  input: { status?: Proposal['status'] | undefined; limit: number; reading: number },
): Promise<Outcome<Proposal[]>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'policy', POLICY_FACTS)
    if (deps.mode === 'pinned') return []
    const all = await deps.revisions.proposals(input.reading)
    return all
      .filter((proposal) => input.status === undefined || proposal.status === input.status)
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .slice(0, input.limit)
  })
}

export interface ProposalView {
  proposal: Proposal
  /** Its base against its revision; null when the base revision is no longer stored. */
  diff: PolicyDiff | null
}

/** One proposal with the diff a reviewer decides on. */
export function proposalView(
  deps: PolicyViewDeps,
  id: string,
  now = new Date(),
): Promise<Outcome<ProposalView>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'policy', POLICY_FACTS)
    const proposal = await deps.revisions.proposal(id)
    if (proposal === null) throw GatewayError.of('POLICY_PROPOSAL_NOT_FOUND')
    const base = await deps.revisions.read(proposal.base)
    const diff = base === null ? null : policyDiff(policyOf(base), policyOf(proposal.revision), now)
    return { proposal, diff }
  })
}

/** One stored revision, for whoever may change the policy. */
export function readRevision(deps: PolicyViewDeps, id: string): Promise<Outcome<Revision>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'policy', POLICY_FACTS)
    return revisionOf(deps.revisions, id)
  })
}

/** The history of applied revisions, newest first, before history row `beforeSeq` (null: all). */
export function revisionHistory(
  deps: PolicyViewDeps,
  input: { limit: number; beforeSeq: number | null },
): Promise<Outcome<HistoryRow[]>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'policy', POLICY_FACTS)
    if (deps.mode === 'pinned') return []
    return deps.revisions.history(input.limit, input.beforeSeq)
  })
}
