/**
 * What goes upstream, built only from validated parts: the five endpoints' paths, the `type`
 * filter, and the four upload fields. Nothing a caller sent is copied through untouched: not a
 * header, not an unknown field, not a query parameter the gateway has not decided to forward.
 */
import type { ResultCheck } from './result-check'
import { resultChecks } from './shapes'

/** The upload body's four fields, as validated by the gateway's own schema. */
export interface UploadFields {
  ca: boolean
  certificates: string
  name?: string | undefined
  private_key?: string | undefined
}

export interface UpstreamRequest<R = unknown> {
  method: 'GET' | 'POST' | 'DELETE'
  /** Path below the base URL, starting with `/accounts/`. Ids in it have passed validation. */
  path: string
  query?: string
  body?: Record<string, unknown>
  /** What a successful answer's `result` must be (shapes.ts). */
  result: ResultCheck<R>
}

const certificatesPath = (accountId: string) => `/accounts/${accountId}/mtls_certificates`
const certificatePath = (accountId: string, certificateId: string) =>
  `${certificatesPath(accountId)}/${certificateId}`

export const upstreamRequests = {
  list: (accountId: string, types: readonly string[] | undefined) => ({
    method: 'GET' as const,
    path: certificatesPath(accountId),
    result: resultChecks.certificateList,
    // The spec's wire form for `type` is comma-separated (style: form, explode: false).
    ...(types && types.length > 0
      ? { query: new URLSearchParams({ type: types.join(',') }).toString() }
      : {}),
  }),
  upload: (accountId: string, fields: UploadFields) => ({
    method: 'POST' as const,
    result: resultChecks.uploadedCertificate,
    path: certificatesPath(accountId),
    body: {
      ca: fields.ca,
      certificates: fields.certificates,
      ...(fields.name !== undefined ? { name: fields.name } : {}),
      ...(fields.private_key !== undefined ? { private_key: fields.private_key } : {}),
    },
  }),
  get: (accountId: string, certificateId: string) => ({
    method: 'GET' as const,
    result: resultChecks.certificate,
    path: certificatePath(accountId, certificateId),
  }),
  delete: (accountId: string, certificateId: string) => ({
    method: 'DELETE' as const,
    result: resultChecks.certificate,
    path: certificatePath(accountId, certificateId),
  }),
  associations: (accountId: string, certificateId: string) => ({
    method: 'GET' as const,
    result: resultChecks.associationList,
    path: `${certificatePath(accountId, certificateId)}/associations`,
  }),
}
