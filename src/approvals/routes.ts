/** Approvals of parked deletes, under /gateway/v1: list the pending ones, read one, approve one. */
import { createRoute, z } from '@hono/zod-openapi'
import { approvalId } from '../lib/ids'
import {
  CHANGE,
  failures,
  jsonContent,
  ok,
  successEnvelope,
  tagged,
  UPSTREAM_CALL,
} from '../lib/openapi'
import { declareAction, jsonBody } from '../pipe'
import { association, mtlsCertificate } from '../upstream/shapes'
import { APPROVAL_CURSOR } from './approve'
import { approvalSchema } from './store'

export const approvalsQuery = z.strictObject({
  cursor: z
    .string()
    .regex(APPROVAL_CURSOR, 'cursor is not one this gateway gave you')
    .optional()
    .openapi({ description: 'From the previous page (result_info.cursor)' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

export const listApprovalsRoute = createRoute({
  operationId: 'listApprovals',
  method: 'get',
  path: '/gateway/v1/approvals',
  tags: tagged('approvals'),
  summary: 'List pending approvals',
  description:
    'The parked deletes still pending that the caller requested or may approve, with the facts kept on each record (no upstream call per row). Policy action `approval`.',
  middleware: [declareAction('approval')] as const,
  request: { query: approvalsQuery },
  responses: {
    200: jsonContent(
      successEnvelope(
        z.array(approvalSchema),
        z.object({ count: z.number(), cursor: z.string().nullable() }),
      ),
      'Pending approvals you requested or may approve, oldest first per account; follow result_info.cursor while it is not null',
    ),
    ...failures({ query: approvalsQuery }, ['COORDINATOR_UNAVAILABLE']),
  },
})

const approvalParams = z.strictObject({
  approval_id: approvalId(),
})

export const getApprovalRoute = createRoute({
  operationId: 'getApproval',
  method: 'get',
  path: '/gateway/v1/approvals/{approval_id}',
  tags: tagged('approvals'),
  summary: 'Get an approval',
  description:
    'One parked delete, pending or closed, if the caller requested it or may approve it; any other is not found. Policy action `approval`.',
  middleware: [declareAction('approval')] as const,
  request: { params: approvalParams },
  responses: {
    200: ok(z.record(z.string(), z.unknown()), 'The approval'),
    ...failures({ params: approvalParams }, ['APPROVAL_NOT_FOUND', 'COORDINATOR_UNAVAILABLE']),
  },
})

export const approveRoute = createRoute({
  operationId: 'approve',
  method: 'post',
  path: '/gateway/v1/approvals/{approval_id}/approve',
  tags: tagged('approvals'),
  summary: 'Approve a parked delete',
  description:
    'A second member approves a parked delete, and the gateway executes it at once: the certificate is deleted upstream. The requester cannot approve their own; an approval is used once, and expires. Policy action `approve`.',
  middleware: [declareAction('approve')] as const,
  request: { params: approvalParams },
  responses: {
    200: ok(mtlsCertificate, 'Approved and executed: the deleted certificate'),
    ...failures(
      { params: approvalParams },
      [
        ...UPSTREAM_CALL,
        ...CHANGE,
        'APPROVAL_NOT_FOUND',
        'SELF_APPROVAL',
        'APPROVAL_CLOSED',
        'APPROVAL_EXPIRED',
        'CERTIFICATE_NOT_FOUND',
        'CERTIFICATE_IN_USE',
      ],
      { 409: 'Already used', 410: 'Expired: request the delete again' },
    ),
  },
})

// Issue 22: the facts an approver decides on; withdraw and reject, each with a reason.

export const reviewApprovalRoute = createRoute({
  operationId: 'reviewApproval',
  method: 'get',
  path: '/gateway/v1/approvals/{approval_id}/review',
  tags: tagged('approvals'),
  summary: 'Review an approval with the certificate as it is now',
  description:
    'The approval (who asked, why, the certificate as parked) and, while it is pending, the certificate as it is now: its owner and its associations, fetched at that moment. A certificate that no longer exists closes its approval (`gone`). Policy action `approval`.',
  middleware: [declareAction('approval')] as const,
  request: { params: approvalParams },
  responses: {
    200: ok(
      z.object({
        approval: approvalSchema,
        current: z
          .object({
            owner_team: z.string().nullable(),
            ca: z.boolean().optional(),
            expires_on: z.string().optional(),
            associations: z.array(association),
          })
          .nullable(),
      }),
      'The approval, and the certificate now (null once closed)',
    ),
    ...failures({ params: approvalParams }, [
      ...UPSTREAM_CALL,
      ...CHANGE,
      'APPROVAL_NOT_FOUND',
      'CERTIFICATE_NOT_FOUND',
    ]),
  },
})

const withdrawBody = z.strictObject({
  reason: z.string().trim().max(500).optional().openapi({ description: 'Why, for the record' }),
})
const rejectBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).openapi({ description: 'Why, for the requester' }),
})

export const withdrawRoute = createRoute({
  operationId: 'withdrawApproval',
  method: 'post',
  path: '/gateway/v1/approvals/{approval_id}/withdraw',
  tags: tagged('approvals'),
  summary: 'Withdraw your parked delete',
  description:
    'The member who requested a parked delete takes it back; nothing is deleted. Only a pending approval can be withdrawn. Audited as `withdraw`.',
  middleware: [declareAction('withdraw'), jsonBody()] as const,
  request: {
    params: approvalParams,
    body: { required: false, content: { 'application/json': { schema: withdrawBody } } },
  },
  responses: {
    200: ok(approvalSchema, 'Withdrawn'),
    ...failures({ params: approvalParams, body: withdrawBody }, [
      ...CHANGE,
      'APPROVAL_NOT_FOUND',
      'APPROVAL_NOT_REQUESTER',
      'APPROVAL_CLOSED',
      'APPROVAL_EXPIRED',
    ]),
  },
})

export const rejectRoute = createRoute({
  operationId: 'rejectApproval',
  method: 'post',
  path: '/gateway/v1/approvals/{approval_id}/reject',
  tags: tagged('approvals'),
  summary: 'Reject a parked delete',
  description:
    'A member who could approve a parked delete refuses it, with a reason the requester sees; nothing is deleted. Decided as `approve`; audited as `reject`.',
  middleware: [declareAction('reject'), jsonBody()] as const,
  request: {
    params: approvalParams,
    body: { required: true, content: { 'application/json': { schema: rejectBody } } },
  },
  responses: {
    200: ok(approvalSchema, 'Rejected'),
    ...failures({ params: approvalParams, body: rejectBody }, [
      ...CHANGE,
      'APPROVAL_NOT_FOUND',
      'APPROVAL_OWN_REJECT',
      'APPROVAL_CLOSED',
      'APPROVAL_EXPIRED',
    ]),
  },
})
