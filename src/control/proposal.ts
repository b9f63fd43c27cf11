/**
 * A proposed policy change (issue 20): a revision to apply on a base revision, with the diff's
 * verdict. Kept by the coordinator beside the revisions (coordinator/policy-revisions.ts); a
 * widening one waits for a second member allowed `policy` (control/propose.ts), a narrowing one
 * is applied when proposed. A rollback is a proposal whose document is an earlier revision's.
 */
import { z } from '@hono/zod-openapi'
import { REVISION_ID, revisionSchema } from './revision'

/** How long a widening proposal waits for its approver. */
export const PROPOSAL_TTL_MS = 7 * 86_400_000

export const PROPOSAL_STATUSES = ['pending', 'applied', 'rejected', 'stale', 'expired'] as const

export const proposalSchema = z.strictObject({
  id: z.uuid(),
  kind: z.enum(['apply', 'rollback']),
  /** The revision current when it was proposed: it applies only while that one still is. */
  base: z.string().regex(REVISION_ID),
  revision: revisionSchema,
  author: z.string(),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  status: z.enum(PROPOSAL_STATUSES),
  /** Why it needs a second person (policy-diff.ts); empty: it applied at once. */
  widening: z.array(z.string()),
  /** The diff's one-line summary (counts only). */
  summary: z.string(),
  decided_by: z.string().optional(),
  decided_at: z.iso.datetime().optional(),
})
export type Proposal = z.output<typeof proposalSchema>
