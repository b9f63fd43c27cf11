/**
 * The five endpoints as data: method, upstream path, what each accepts and answers. Served at the
 * upstream's own paths under /client/v4 so that a Cloudflare client only changes its base URL.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { failure, jsonContent, successEnvelope } from '../lib/openapi'
import { jsonBody, noteAction } from '../lib/middleware'
import { accountParams, certificateParams, listQuery, uploadBody } from './schemas'

const certificate = z
  .object({
    id: z.string(),
    ca: z.boolean(),
    certificates: z.string(),
    expires_on: z.string(),
    issuer: z.string(),
    name: z.string().optional(),
    serial_number: z.string(),
    signature: z.string(),
    type: z.string().optional(),
    uploaded_on: z.string(),
  })
  .openapi('MTLSCertificate')

const resultInfo = z.object({
  count: z.number(),
  page: z.number(),
  per_page: z.number(),
  total_count: z.number(),
  total_pages: z.number(),
})

const envelopeOf = <T extends z.ZodType>(result: T, withInfo = false) =>
  successEnvelope(result, withInfo ? resultInfo : undefined)

const json = jsonContent

const failures = {
  400: failure('Invalid request (the error names the field in source.pointer)'),
  401: failure('Missing, malformed or unknown gateway key'),
  403: failure('Denied by policy (the message gives the reason)'),
  404: failure('No such certificate, or one the caller may not see'),
  503: failure('The gateway is misconfigured or cannot record ownership'),
  429: failure('Upstream rate limit; see retry-after'),
  502: failure('The upstream failed'),
  504: failure('The upstream timed out'),
}

const BASE = '/client/v4/accounts/{account_id}/mtls_certificates'
const tags = ['mTLS Certificate Management']

export const listRoute = createRoute({
  operationId: 'list',
  method: 'get',
  path: BASE,
  tags,
  middleware: [noteAction('list')] as const,
  request: { params: accountParams, query: listQuery },
  responses: { 200: json(envelopeOf(z.array(certificate), true), 'The certificates'), ...failures },
})

export const uploadRoute = createRoute({
  operationId: 'upload',
  method: 'post',
  path: BASE,
  tags,
  middleware: [noteAction('upload'), jsonBody()] as const,
  request: {
    params: accountParams,
    body: { required: true, content: { 'application/json': { schema: uploadBody } } },
  },
  responses: {
    200: json(
      envelopeOf(certificate.extend({ updated_at: z.string() })),
      'The uploaded certificate',
    ),
    413: failure('Body too large'),
    415: failure('Body is not JSON'),
    ...failures,
  },
})

export const getRoute = createRoute({
  operationId: 'get',
  method: 'get',
  path: `${BASE}/{mtls_certificate_id}`,
  tags,
  middleware: [noteAction('get')] as const,
  request: { params: certificateParams },
  responses: { 200: json(envelopeOf(certificate), 'The certificate'), ...failures },
})

export const deleteRoute = createRoute({
  operationId: 'delete',
  method: 'delete',
  path: `${BASE}/{mtls_certificate_id}`,
  tags,
  middleware: [noteAction('delete')] as const,
  request: { params: certificateParams },
  responses: {
    200: json(envelopeOf(certificate), 'The deleted certificate'),
    202: json(envelopeOf(z.null()), 'Not deleted yet: a second member must approve (see messages)'),
    ...failures,
  },
})

export const associationsRoute = createRoute({
  operationId: 'associations',
  method: 'get',
  path: `${BASE}/{mtls_certificate_id}/associations`,
  tags,
  middleware: [noteAction('associations')] as const,
  request: { params: certificateParams },
  responses: {
    200: json(
      envelopeOf(z.array(z.object({ service: z.string(), status: z.string() })), true),
      'Associations',
    ),
    ...failures,
  },
})
