/**
 * Assigning a certificate to a team, and transfer requests (transfer.ts), under /gateway/v1 (not
 * upstream paths).
 */
import { createRoute, z } from '@hono/zod-openapi'
import { accountParams, approvalId, certificateParams } from '../lib/ids'
import { inspectCertificates } from '../lib/inspect-pem'
import { failure, gatewayFailures, ok } from '../lib/openapi'
import { declareAction, jsonBody } from '../pipe'

export const assignRoute = createRoute({
  operationId: 'assign',
  method: 'put',
  path: '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/owner',
  tags: ['Gateway'],
  middleware: [declareAction('assign'), jsonBody()] as const,
  request: {
    params: certificateParams,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.strictObject({
            team: z.string({ message: 'team is required' }).min(1),
            override_quota: z.boolean().optional().openapi({
              description:
                "Assign a CA certificate even past the team's CA quota (recorded in the audit log)",
            }),
          }),
        },
      },
    },
  },
  responses: {
    200: ok(
      z.object({
        account_id: z.string(),
        mtls_certificate_id: z.string(),
        team: z.string(),
        previous_team: z.string().nullable(),
      }),
      'The new owner',
    ),
    ...gatewayFailures,
  },
})

const assignment = z.object({
  account_id: z.string(),
  mtls_certificate_id: z.string(),
  team: z.string(),
  previous_team: z.string().nullable(),
})

const transferView = z
  .object({
    id: z.string(),
    account_id: z.string(),
    to_team: z.string(),
    requested_by: z.string(),
    status: z.enum(['pending', 'executing', 'executed', 'expired']),
    created_at: z.string(),
    expires_at: z.string(),
    approved_by: z.string().optional(),
    closed_at: z.string().optional(),
    certificate_id: z.string().optional().openapi({
      description: 'Shown to approvers, and to the asking team once the transfer is executed',
    }),
    from_team: z.string().nullable().optional().openapi({ description: 'Approvers only' }),
  })
  .openapi('TransferRequest')

/** The PEM the asking team holds (what its refused upload sent), read as an upload's would be. */
const transferBody = z
  .strictObject({
    certificates: z
      .string({ message: 'certificates is required and must be a PEM string' })
      .min(1, 'certificates must not be empty'),
  })
  .transform(async (body, ctx) => {
    const inspected = await inspectCertificates(body.certificates, false)
    if (!inspected.ok) {
      ctx.addIssue({
        code: 'custom',
        path: ['certificates'],
        message: inspected.message,
        params: { kind: inspected.kind },
      })
      return z.NEVER
    }
    return inspected.value.info
  })
  .openapi({
    type: 'object',
    required: ['certificates'],
    properties: {
      certificates: { type: 'string', description: 'PEM: the certificates the upload sent' },
    },
  })

export const fileTransferRoute = createRoute({
  operationId: 'fileTransfer',
  method: 'post',
  path: '/gateway/v1/accounts/{account_id}/transfers',
  tags: ['Gateway'],
  middleware: [declareAction('transfer'), jsonBody()] as const,
  request: {
    params: accountParams,
    body: { required: true, content: { 'application/json': { schema: transferBody } } },
  },
  responses: {
    200: ok(transferView, 'The pending transfer request (a new one, or the one already open)'),
    409: failure('Your team can already see this certificate'),
    ...gatewayFailures,
  },
})

export const listTransfersRoute = createRoute({
  operationId: 'listTransfers',
  method: 'get',
  path: '/gateway/v1/accounts/{account_id}/transfers',
  tags: ['Gateway'],
  middleware: [declareAction('transfer')] as const,
  request: { params: accountParams },
  responses: {
    200: ok(z.array(transferView), "Your team's requests and those you may approve"),
    ...gatewayFailures,
  },
})

export const approveTransferRoute = createRoute({
  operationId: 'approveTransfer',
  method: 'post',
  path: '/gateway/v1/transfers/{transfer_id}/approve',
  tags: ['Gateway'],
  middleware: [declareAction('assign')] as const,
  request: {
    params: z.strictObject({
      transfer_id: approvalId().openapi({ param: { name: 'transfer_id', in: 'path' } }),
    }),
  },
  responses: {
    200: ok(
      z.object({ transfer: transferView, assignment }),
      'Approved: the certificate now belongs to the asking team',
    ),
    409: failure('No longer pending'),
    ...gatewayFailures,
  },
})
