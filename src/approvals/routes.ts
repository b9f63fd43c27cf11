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
import { declareAction } from '../pipe'
import { mtlsCertificate } from '../upstream/shapes'
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
