/** Approvals of parked deletes, under /gateway/v1: read one, approve one. */
import { createRoute, z } from '@hono/zod-openapi'
import { approvalId } from '../lib/ids'
import { failure, gatewayFailures, ok } from '../lib/openapi'
import { declareAction } from '../pipe'
import { mtlsCertificate } from '../upstream/shapes'

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
