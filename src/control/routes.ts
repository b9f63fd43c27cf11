/** Policy revisions and proposed changes (issue 20), under /gateway/v1/policy. */
import { createRoute, z } from '@hono/zod-openapi'
import { CHANGE, failures, ok, tagged } from '../lib/openapi'
import { declareAction, jsonBody } from '../pipe'
import { PROPOSAL_STATUSES, proposalSchema } from './proposal'
import { REVISION_ID } from './revision'

const revisionId = z
  .string()
  .regex(REVISION_ID, 'must be a policy revision id (64 lowercase hex digits)')
const reason = z.string().min(1, 'say why').max(500)

const proposeBody = z.strictObject({
  base: revisionId.openapi({ description: 'The revision the change was made on: the current one' }),
  document: z.record(z.string(), z.unknown()).openapi({ description: 'The whole new policy' }),
  reason,
})
const rollbackBody = z.strictObject({
  to: revisionId.openapi({ description: 'The earlier revision to make current again' }),
  base: revisionId.openapi({ description: 'The current revision' }),
  reason,
})
const proposalParams = z.strictObject({ proposal_id: z.uuid() })
const historyQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

const diffSchema = z.object({
  structural: z.record(z.string(), z.unknown()),
  access: z.object({
    cases: z.number().int(),
    counts: z.record(z.string(), z.number().int()),
    differences: z.array(z.record(z.string(), z.unknown())),
    listed_all: z.boolean(),
  }),
  widening: z.array(z.string()),
})
const changeReport = z.object({ proposal: proposalSchema, diff: diffSchema })

const PROPOSING = [
  ...CHANGE,
  'POLICY_PINNED',
  'POLICY_BASE_STALE',
  'POLICY_UNCHANGED',
  'POLICY_DOCUMENT_INVALID',
] as const

export const currentPolicyRoute = createRoute({
  operationId: 'getPolicy',
  method: 'get',
  path: '/gateway/v1/policy',
  tags: tagged('policy'),
  summary: 'The current policy revision',
  description:
    'The id, mode and document of the revision this request was served under, and the latest history. Policy action `policy`.',
  middleware: [declareAction('policy')] as const,
  request: { query: historyQuery },
  responses: {
    200: ok(
      z.object({
        id: z.string(),
        mode: z.enum(['managed', 'pinned']),
        document: z.record(z.string(), z.unknown()),
        history: z.array(z.record(z.string(), z.unknown())),
      }),
      'The current revision and its history, newest first',
    ),
    ...failures({ query: historyQuery }, ['COORDINATOR_UNAVAILABLE']),
  },
})

export const proposeRoute = createRoute({
  operationId: 'proposePolicy',
  method: 'post',
  path: '/gateway/v1/policy/proposals',
  tags: tagged('policy'),
  summary: 'Propose a policy change',
  description:
    'A new policy document on the current revision (`base`), checked as `npm run policy:check` checks it, with its structural diff and exhaustive access diff. Applied at once when it does not widen access; otherwise pending until a second member allowed `policy` approves it. Refused if `base` is no longer current. Policy action `policy`.',
  middleware: [declareAction('policy'), jsonBody()] as const,
  request: { body: { content: { 'application/json': { schema: proposeBody } }, required: true } },
  responses: {
    200: ok(changeReport, 'Filed: `proposal.status` is `applied` or `pending`'),
    ...failures({ body: proposeBody }, PROPOSING),
  },
})

export const rollbackRoute = createRoute({
  operationId: 'rollbackPolicy',
  method: 'post',
  path: '/gateway/v1/policy/rollback',
  tags: tagged('policy'),
  summary: 'Roll the policy back to an earlier revision',
  description:
    "Proposes an earlier revision's document again, as a new history entry, under the same rules as any proposal. Policy action `policy`.",
  middleware: [declareAction('policy'), jsonBody()] as const,
  request: { body: { content: { 'application/json': { schema: rollbackBody } }, required: true } },
  responses: {
    200: ok(changeReport, 'Filed: `proposal.status` is `applied` or `pending`'),
    ...failures({ body: rollbackBody }, [...PROPOSING, 'POLICY_REVISION_NOT_FOUND']),
  },
})

export const getProposalRoute = createRoute({
  operationId: 'getPolicyProposal',
  method: 'get',
  path: '/gateway/v1/policy/proposals/{proposal_id}',
  tags: tagged('policy'),
  summary: 'Get a policy proposal',
  description: 'One proposal, pending or closed. Policy action `policy`.',
  middleware: [declareAction('policy')] as const,
  request: { params: proposalParams },
  responses: {
    200: ok(proposalSchema, 'The proposal'),
    ...failures({ params: proposalParams }, [
      'POLICY_PROPOSAL_NOT_FOUND',
      'COORDINATOR_UNAVAILABLE',
    ]),
  },
})

const decideRoute = (verdict: 'approve' | 'reject') =>
  createRoute({
    operationId: verdict === 'approve' ? 'approvePolicyProposal' : 'rejectPolicyProposal',
    method: 'post',
    path: `/gateway/v1/policy/proposals/{proposal_id}/${verdict}`,
    tags: tagged('policy'),
    summary: verdict === 'approve' ? 'Approve a policy proposal' : 'Reject a policy proposal',
    description:
      verdict === 'approve'
        ? 'A second member allowed `policy` approves a pending proposal, which is applied at once, exactly once; refused if its base is no longer current, and to its author. Policy action `policy`.'
        : 'Closes a pending proposal without applying it (its author may withdraw it this way). Policy action `policy`.',
    middleware: [declareAction('policy')] as const,
    request: { params: proposalParams },
    responses: {
      200: ok(proposalSchema, verdict === 'approve' ? 'Applied' : 'Rejected'),
      ...failures({ params: proposalParams }, [
        ...CHANGE,
        'POLICY_PINNED',
        'POLICY_PROPOSAL_NOT_FOUND',
        'POLICY_PROPOSAL_CLOSED',
        'POLICY_SELF_APPROVAL',
        'POLICY_BASE_STALE',
        'POLICY_UNCHANGED',
      ]),
    },
  })

export const approveProposalRoute = decideRoute('approve')
export const rejectProposalRoute = decideRoute('reject')

// control-api: reading proposals and the diff of any two revisions.

const proposalsQuery = z.strictObject({
  status: z
    .enum(PROPOSAL_STATUSES)
    .optional()
    .openapi({ description: 'Only proposals in this state' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

export const listProposalsRoute = createRoute({
  operationId: 'listPolicyProposals',
  method: 'get',
  path: '/gateway/v1/policy/proposals',
  tags: tagged('policy'),
  summary: 'List policy proposals',
  description:
    'Proposals, newest first, optionally in one state (`pending`, `applied`, `rejected`, `stale`, `expired`); the latest 200 are searched. Policy action `policy`.',
  middleware: [declareAction('policy')] as const,
  request: { query: proposalsQuery },
  responses: {
    200: ok(z.array(proposalSchema), 'The proposals, newest first'),
    ...failures({ query: proposalsQuery }, ['COORDINATOR_UNAVAILABLE']),
  },
})

const revisionParams = z.strictObject({ revision_id: revisionId })
const diffQuery = z.strictObject({
  against: revisionId.openapi({ description: 'The revision to compare with (the older side)' }),
})

export const revisionDiffRoute = createRoute({
  operationId: 'diffPolicyRevisions',
  method: 'get',
  path: '/gateway/v1/policy/revisions/{revision_id}/diff',
  tags: tagged('policy'),
  summary: 'Diff two policy revisions',
  description:
    'The structural diff and the exhaustive access diff from revision `against` to `revision_id` (any two stored revisions), with its one-line summary and what would make it widening. Policy action `policy`.',
  middleware: [declareAction('policy')] as const,
  request: { params: revisionParams, query: diffQuery },
  responses: {
    200: ok(
      z.object({ from: z.string(), to: z.string(), diff: diffSchema, summary: z.string() }),
      'The diff from `against` to the revision',
    ),
    ...failures({ params: revisionParams, query: diffQuery }, [
      'POLICY_REVISION_NOT_FOUND',
      'COORDINATOR_UNAVAILABLE',
    ]),
  },
})

const whatIfQuery = z.strictObject({
  since: z.iso
    .datetime()
    .optional()
    .openapi({ description: 'Start of the window (ISO 8601); default 30 days ago' }),
})
const whatIfChange = z.object({
  team: z.string(),
  action: z.string(),
  from: z.enum(['allow', 'deny']),
  to: z.enum(['allow', 'deny']),
  count: z.number().int(),
  samples: z
    .array(z.string())
    .describe('Up to five request ids of the recorded requests that would be decided otherwise'),
})

export const proposalWhatIfRoute = createRoute({
  operationId: 'whatIfPolicyProposal',
  method: 'get',
  path: '/gateway/v1/policy/proposals/{proposal_id}/what-if',
  tags: tagged('policy'),
  summary: 'Replay the audit log under a proposal',
  description:
    'The recorded requests of a window (default the last 30 days) decided again under the proposal, per team and action: the decisions that would change (allow to deny or back) with up to 5 sample entry ids each, and what could not be replayed (entries without `decided_on`, without a decision, or of actions the policy does not decide). `complete` is false when the window held more than one replay reads (500,000 entries). Policy action `policy`.',
  middleware: [declareAction('policy')] as const,
  request: { params: proposalParams, query: whatIfQuery },
  responses: {
    200: ok(
      z.object({
        proposal: z.string(),
        since: z.string(),
        until: z.string(),
        complete: z.boolean(),
        replayed_from: z.string().nullable(),
        entries: z.number().int(),
        replayed: z.number().int(),
        unchanged: z.number().int(),
        not_replayable: z.object({
          before_decided_on: z.number().int(),
          no_decision: z.number().int(),
          not_a_policy_action: z.number().int(),
        }),
        changes: z.array(whatIfChange),
      }),
      'What would change',
    ),
    ...failures({ params: proposalParams, query: whatIfQuery }, [
      'POLICY_PROPOSAL_NOT_FOUND',
      'COORDINATOR_UNAVAILABLE',
    ]),
  },
})
