/**
 * Assigning a certificate to a team, and transfer requests (transfer.ts), under /gateway/v1 (not
 * upstream paths).
 */
import { createRoute, z } from '@hono/zod-openapi'
import { accountParams, approvalId, certificateParams } from '../lib/ids'
import { inspectCertificates } from '../lib/inspect-pem'
import { CHANGE, failures, ok, tagged, UPSTREAM_CALL } from '../lib/openapi'
import { declareAction, jsonBody } from '../pipe'

const assignBody = z.strictObject({
  team: z.string({ message: 'team is required' }).min(1),
  override_quota: z.boolean().optional().openapi({
    description:
      "Assign a CA certificate even past the team's CA quota (recorded in the audit log)",
  }),
})

export const assignRoute = createRoute({
  operationId: 'assign',
  method: 'put',
  path: '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/owner',
  tags: tagged('ownership'),
  summary: 'Assign a certificate to a team',
  description:
    "Makes a team the owner of a certificate that exists upstream (one uploaded outside the gateway, or another team's). A CA certificate past the team's quota needs `override_quota`. Policy action `assign`.",
  middleware: [declareAction('assign'), jsonBody()] as const,
  request: {
    params: certificateParams,
    body: { required: true, content: { 'application/json': { schema: assignBody } } },
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
    ...failures({ params: certificateParams, body: assignBody }, [
      ...UPSTREAM_CALL,
      ...CHANGE,
      'CERTIFICATE_NOT_FOUND',
      'UNKNOWN_TEAM',
      'ASSIGN_OVER_CA_QUOTA',
    ]),
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

/** What inspectCertificates refuses a PEM with (without a private key), in place of 18111. */
const TRANSFER_PEM_KINDS = [
  'CERTIFICATE_UNPARSABLE',
  'CERTIFICATE_FOREIGN_BLOCK',
  'PEM_ENCRYPTED',
  'PEM_HEADERS',
] as const

export const fileTransferRoute = createRoute({
  operationId: 'fileTransfer',
  method: 'post',
  path: '/gateway/v1/accounts/{account_id}/transfers',
  tags: tagged('ownership'),
  summary: 'Ask for a certificate another team holds',
  description:
    'Files a transfer request for a certificate the account already holds for another team (or for none), named by the PEM the refused upload sent. A member who may approve it (an admin) approves it with /gateway/v1/transfers/{transfer_id}/approve. Policy action `transfer`.',
  middleware: [declareAction('transfer'), jsonBody()] as const,
  request: {
    params: accountParams,
    body: { required: true, content: { 'application/json': { schema: transferBody } } },
  },
  responses: {
    200: ok(transferView, 'The pending transfer request (a new one, or the one already open)'),
    ...failures(
      { params: accountParams, body: transferBody },
      [
        ...UPSTREAM_CALL,
        ...CHANGE,
        ...TRANSFER_PEM_KINDS,
        'ACCOUNT_NOT_FOUND',
        'CERTIFICATE_NOT_FOUND',
        'TRANSFER_NOT_NEEDED',
      ],
      { 409: 'Your team can already see this certificate' },
    ),
  },
})

export const listTransfersRoute = createRoute({
  operationId: 'listTransfers',
  method: 'get',
  path: '/gateway/v1/accounts/{account_id}/transfers',
  tags: tagged('ownership'),
  summary: 'List transfer requests',
  description:
    "The account's transfer requests that the caller's team filed, and those the caller may approve. Policy action `transfer`.",
  middleware: [declareAction('transfer')] as const,
  request: { params: accountParams },
  responses: {
    200: ok(z.array(transferView), "Your team's requests and those you may approve"),
    ...failures({ params: accountParams }, ['ACCOUNT_NOT_FOUND', 'COORDINATOR_UNAVAILABLE']),
  },
})

const transferParams = z.strictObject({
  transfer_id: approvalId().openapi({ param: { name: 'transfer_id', in: 'path' } }),
})

export const approveTransferRoute = createRoute({
  operationId: 'approveTransfer',
  method: 'post',
  path: '/gateway/v1/transfers/{transfer_id}/approve',
  tags: tagged('ownership'),
  summary: 'Approve a transfer request',
  description:
    'Executes a pending transfer: the certificate changes owner to the asking team, as an assignment would. Policy action `assign`.',
  middleware: [declareAction('assign')] as const,
  request: { params: transferParams },
  responses: {
    200: ok(
      z.object({ transfer: transferView, assignment }),
      'Approved: the certificate now belongs to the asking team',
    ),
    ...failures(
      { params: transferParams },
      [
        ...UPSTREAM_CALL,
        ...CHANGE,
        'TRANSFER_NOT_FOUND',
        'TRANSFER_CLOSED',
        'CERTIFICATE_NOT_FOUND',
        'UNKNOWN_TEAM',
        'ASSIGN_OVER_CA_QUOTA',
      ],
      { 409: 'No longer pending' },
    ),
  },
})
