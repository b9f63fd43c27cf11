/** Approvals of parked deletes, under /gateway/v1: list the pending ones, read one, approve one. */
import { createRoute, z } from '@hono/zod-openapi'
import { approvalId } from '../lib/ids'
import { failure, gatewayFailures, jsonContent, ok, successEnvelope } from '../lib/openapi'
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
  tags: ['Gateway'],
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
    ...gatewayFailures,
  },
})

const approvalParams = z.strictObject({
  approval_id: approvalId(),
})

export const getApprovalRoute = createRoute({
  operationId: 'getApproval',
  method: 'get',
  path: '/gateway/v1/approvals/{approval_id}',
  tags: ['Gateway'],
  middleware: [declareAction('approval')] as const,
  request: { params: approvalParams },
  responses: { 200: ok(z.record(z.string(), z.unknown()), 'The approval'), ...gatewayFailures },
})

export const approveRoute = createRoute({
  operationId: 'approve',
  method: 'post',
  path: '/gateway/v1/approvals/{approval_id}/approve',
  tags: ['Gateway'],
  middleware: [declareAction('approve')] as const,
  request: { params: approvalParams },
  responses: {
    200: ok(mtlsCertificate, 'Approved and executed: the deleted certificate'),
    409: failure('Already used'),
    410: failure('Expired'),
    ...gatewayFailures,
  },
})
