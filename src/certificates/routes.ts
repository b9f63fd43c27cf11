/**
 * The five endpoints as data: method, upstream path, action, what each accepts and answers. Served
 * at the upstream's own paths under /client/v4 so that a Cloudflare client only changes its base URL.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { failure, jsonContent, successEnvelope } from '../lib/openapi'
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
  middleware: [declareAction('list')] as const,
  request: { params: accountParams, query: listQuery },
  responses: { 200: json(envelopeOf(certificateList, true), 'The certificates'), ...failures },
})

export const uploadRoute = createRoute({
  operationId: 'upload',
  method: 'post',
  path: BASE,
  tags,
  middleware: [declareAction('upload'), jsonBody()] as const,
  request: {
    params: accountParams,
    body: { required: true, content: { 'application/json': { schema: uploadBody } } },
  },
  responses: {
    200: json(envelopeOf(uploadedCertificate), 'The uploaded certificate'),
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
  middleware: [declareAction('get')] as const,
  request: { params: certificateParams },
  responses: { 200: json(envelopeOf(mtlsCertificate), 'The certificate'), ...failures },
})

export const deleteRoute = createRoute({
  operationId: 'delete',
  method: 'delete',
  path: `${BASE}/{mtls_certificate_id}`,
  tags,
  middleware: [declareAction('delete')] as const,
  request: { params: certificateParams },
  responses: {
    200: json(envelopeOf(mtlsCertificate), 'The deleted certificate'),
    202: json(
      successEnvelope(z.null()).extend({ approval: z.record(z.string(), z.unknown()) }),
      'Only with `Prefer: respond-async`: not deleted yet, a second member must approve (see messages). Without it a parked delete is 403 / 18309.',
    ),
    ...failures,
  },
})

export const associationsRoute = createRoute({
  operationId: 'associations',
  method: 'get',
  path: `${BASE}/{mtls_certificate_id}/associations`,
  tags,
  middleware: [declareAction('associations')] as const,
  request: { params: certificateParams },
  responses: {
    200: json(envelopeOf(associationList, true), 'Associations'),
    ...failures,
  },
})
