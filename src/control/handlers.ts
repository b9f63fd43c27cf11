/** The policy endpoints' handlers (issue 20): thin; the operations are control/propose.ts. */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { successEnvelope } from '../lib/envelope'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import {
  currentPolicy,
  decideChange,
  diffRevisions,
  listProposals,
  proposalWhatIf,
  proposeChange,
  readProposal,
  rollBack,
  type ControlDeps,
} from './propose'
import {
  approveProposalRoute,
  currentPolicyRoute,
  getProposalRoute,
  listProposalsRoute,
  proposalWhatIfRoute,
  proposeRoute,
  revisionDiffRoute,
  rejectProposalRoute,
  rollbackRoute,
} from './routes'

/** The scope's parts a policy change runs on, with the revisions' store. */
/** What the policy operations run on, from the request's scope (the console's pages use it too). */
export function controlDepsOf(c: Context<AppEnv>): ControlDeps & { pinnedDocument: string } {
  const { scope, config } = c.var
  return {
    principal: scope.principal,
    who: scope.who,
    audit: scope.audit,
    policy: config.policy,
    policyRevision: config.policyRevision,
    mode: config.policySource.mode,
    pinnedDocument: config.policySource.document,
    revisions: scope.revisions,
  }
}

export const controlRouter = createRouter<AppEnv>()
  .openapi(currentPolicyRoute, async (c) => {
    const { limit } = c.req.valid('query')
    return c.json(successEnvelope(settle(c, await currentPolicy(controlDepsOf(c), limit))), 200)
  })
  // control-api: the listing is registered before the proposal's own route (no clash: GET vs id).
  .openapi(listProposalsRoute, async (c) => {
    const query = c.req.valid('query')
    return c.json(successEnvelope(settle(c, await listProposals(controlDepsOf(c), query))), 200)
  })
  .openapi(revisionDiffRoute, async (c) => {
    const { revision_id: id } = c.req.valid('param')
    const { against } = c.req.valid('query')
    return c.json(
      successEnvelope(settle(c, await diffRevisions(controlDepsOf(c), { id, against }))),
      200,
    )
  })
  .openapi(proposalWhatIfRoute, async (c) => {
    const { proposal_id: id } = c.req.valid('param')
    const { since } = c.req.valid('query')
    const deps = { ...controlDepsOf(c), auditLog: c.var.scope.auditLog }
    return c.json(successEnvelope(settle(c, await proposalWhatIf(deps, { id, since }))), 200)
  })
  .openapi(proposeRoute, async (c) => {
    const body = c.req.valid('json')
    return c.json(successEnvelope(settle(c, await proposeChange(controlDepsOf(c), body))), 200)
  })
  .openapi(rollbackRoute, async (c) => {
    const body = c.req.valid('json')
    return c.json(successEnvelope(settle(c, await rollBack(controlDepsOf(c), body))), 200)
  })
  .openapi(getProposalRoute, async (c) => {
    const { proposal_id: id } = c.req.valid('param')
    return c.json(successEnvelope(settle(c, await readProposal(controlDepsOf(c), id))), 200)
  })
  .openapi(approveProposalRoute, async (c) => {
    const { proposal_id: id } = c.req.valid('param')
    const outcome = await decideChange(controlDepsOf(c), { id, verdict: 'approve' })
    return c.json(successEnvelope(settle(c, outcome)), 200)
  })
  .openapi(rejectProposalRoute, async (c) => {
    const { proposal_id: id } = c.req.valid('param')
    const outcome = await decideChange(controlDepsOf(c), { id, verdict: 'reject' })
    return c.json(successEnvelope(settle(c, outcome)), 200)
  })
