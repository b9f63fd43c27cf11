/**
 * The five endpoints as data: method, upstream path, action, what each accepts and answers. Served
 * at the upstream's own paths under /client/v4 so that a Cloudflare client only changes its base URL.
 */
import { createRoute, z } from '@hono/zod-openapi'
import {
  CHANGE,
  failures,
  jsonContent,
  successEnvelope,
  tagged,
  UPSTREAM_CALL,
} from '../lib/openapi'
import { declareAction, jsonBody } from '../pipe'
import {
  associationList,
  certificateList,
  mtlsCertificate,
  uploadedCertificate,
} from '../upstream/shapes'
import { accountParams, certificateParams } from '../lib/ids'
import { listQuery, uploadBody } from './schemas'

const resultInfo = z.looseObject({
  count: z.number(),
  page: z.number(),
  per_page: z.number(),
  total_count: z.number(),
  total_pages: z.number(),
})

const envelopeOf = <T extends z.ZodType>(result: T, withInfo = false) =>
  successEnvelope(result, withInfo ? resultInfo.optional() : undefined)

const json = jsonContent

/** The upstream's own codes are relayed under its status; these are the gateway's. */
const notes = {
  404: 'No such account or certificate, or one the caller may not see (the same answer)',
  429: "The member's rate, the team's share of the budget, or the breaker: retry after retry-after",
}

const BASE = '/client/v4/accounts/{account_id}/mtls_certificates'
const tags = tagged('certificates')

/** The PEM checks' own kinds (schemas.ts), which a refinement carries instead of 18111. */
const PEM_KINDS = [
  'CERTIFICATE_UNPARSABLE',
  'CERTIFICATE_FOREIGN_BLOCK',
  'CERTIFICATE_NOT_CA',
  'PRIVATE_KEY_UNPARSABLE',
  'PRIVATE_KEY_MISMATCH',
  'PEM_ENCRYPTED',
  'PEM_HEADERS',
] as const

export const listRoute = createRoute({
  operationId: 'list',
  method: 'get',
  path: BASE,
  tags,
  summary: 'List mTLS certificates',
  description:
    "The account's mTLS certificates the caller's team may see, page by page as the upstream pages them (`page`, `per_page`). Policy action `list`.",
  middleware: [declareAction('list')] as const,
  request: { params: accountParams, query: listQuery },
  responses: {
    200: json(envelopeOf(certificateList, true), 'The certificates'),
    ...failures(
      { params: accountParams, query: listQuery },
      [...UPSTREAM_CALL, 'ACCOUNT_NOT_FOUND'],
      notes,
    ),
  },
})

export const uploadRoute = createRoute({
  operationId: 'upload',
  method: 'post',
  path: BASE,
  tags,
  summary: 'Upload an mTLS certificate',
  description:
    "Uploads a certificate (or CA certificate) for mTLS-enabled Cloudflare services, owned by the caller's team from then on. The PEM is checked before anything is sent upstream; a certificate the account already holds for another team is refused with 18341 and a transfer request to file. Policy action `upload` (the team's CA quota applies to CA certificates).",
  middleware: [declareAction('upload'), jsonBody()] as const,
  request: {
    params: accountParams,
    body: { required: true, content: { 'application/json': { schema: uploadBody } } },
  },
  responses: {
    200: json(envelopeOf(uploadedCertificate), 'The uploaded certificate'),
    ...failures(
      { params: accountParams, body: uploadBody },
      [
        ...UPSTREAM_CALL,
        ...CHANGE,
        ...PEM_KINDS,
        'ACCOUNT_NOT_FOUND',
        'CA_QUOTA_EXCEEDED',
        'DUPLICATE_HELD_ELSEWHERE',
      ],
      notes,
    ),
  },
})

export const getRoute = createRoute({
  operationId: 'get',
  method: 'get',
  path: `${BASE}/{mtls_certificate_id}`,
  tags,
  summary: 'Get an mTLS certificate',
  description:
    "One certificate, if the caller's team may see it; any other is not found, exactly as one that does not exist. Policy action `get`.",
  middleware: [declareAction('get')] as const,
  request: { params: certificateParams },
  responses: {
    200: json(envelopeOf(mtlsCertificate), 'The certificate'),
    ...failures({ params: certificateParams }, [...UPSTREAM_CALL, 'CERTIFICATE_NOT_FOUND'], notes),
  },
})

/** Issue 22: an optional header, so that Cloudflare's clients send the same request as before. */
const deleteHeaders = z.looseObject({
  'x-approval-reason': z.string().max(500).optional().openapi({
    description:
      'Why you ask (kept with the approval and shown to approvers, if the delete is parked)',
  }),
})

export const deleteRoute = createRoute({
  operationId: 'delete',
  method: 'delete',
  path: `${BASE}/{mtls_certificate_id}`,
  tags,
  summary: 'Delete an mTLS certificate',
  description:
    "Deletes a certificate the caller's team owns, unless Cloudflare services still use it (18302). Where the policy asks for a second member's approval the delete is parked instead: 403 / 18309, or 202 with `Prefer: respond-async`, until another member approves it (/gateway/v1/approvals). Policy action `delete`.",
  middleware: [declareAction('delete')] as const,
  // Issue 22: the requester's reason, shown to approvers when the delete is parked.
  request: { params: certificateParams, headers: deleteHeaders },
  responses: {
    200: json(envelopeOf(mtlsCertificate), 'The deleted certificate'),
    202: json(
      successEnvelope(z.null()).extend({ approval: z.record(z.string(), z.unknown()) }),
      'Only with `Prefer: respond-async`: not deleted yet, a second member must approve (see messages). Without it a parked delete is 403 / 18309.',
    ),
    ...failures(
      { params: certificateParams },
      [
        ...UPSTREAM_CALL,
        ...CHANGE,
        'CERTIFICATE_NOT_FOUND',
        'CERTIFICATE_IN_USE',
        'APPROVAL_REQUIRED',
      ],
      notes,
    ),
  },
})

export const associationsRoute = createRoute({
  operationId: 'associations',
  method: 'get',
  path: `${BASE}/{mtls_certificate_id}/associations`,
  tags,
  summary: 'List the services using an mTLS certificate',
  description:
    'The Cloudflare services (hostnames, zones) that use a certificate the caller may see; a certificate in use cannot be deleted. Policy action `associations`.',
  middleware: [declareAction('associations')] as const,
  request: { params: certificateParams },
  responses: {
    200: json(envelopeOf(associationList, true), 'Associations'),
    ...failures({ params: certificateParams }, [...UPSTREAM_CALL, 'CERTIFICATE_NOT_FOUND'], notes),
  },
})
