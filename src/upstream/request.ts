/**
 * What goes upstream, built only from validated parts: the five endpoints' paths, the `type`
 * filter, and the four upload fields. Nothing a caller sent is copied through untouched: not a
 * header, not an unknown field, not a query parameter the gateway has not decided to forward.
 */
import type { CertificateType, UploadFields } from '../certificates/schemas'

export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'DELETE'
  /** Path below the base URL, starting with `/accounts/`. Ids in it have passed validation. */
  path: string
  query?: string
  body?: Record<string, unknown>
}

const certificatesPath = (accountId: string) => `/accounts/${accountId}/mtls_certificates`
const certificatePath = (accountId: string, certificateId: string) =>
  `${certificatesPath(accountId)}/${certificateId}`

export const upstreamRequests = {
  list: (accountId: string, types: readonly CertificateType[] | undefined): UpstreamRequest => ({
    method: 'GET',
    path: certificatesPath(accountId),
    // The spec's wire form for `type` is comma-separated (style: form, explode: false).
    ...(types && types.length > 0
      ? { query: new URLSearchParams({ type: types.join(',') }).toString() }
      : {}),
  }),
  upload: (accountId: string, fields: UploadFields): UpstreamRequest => ({
    method: 'POST',
    path: certificatesPath(accountId),
    body: {
      ca: fields.ca,
      certificates: fields.certificates,
      ...(fields.name !== undefined ? { name: fields.name } : {}),
      ...(fields.private_key !== undefined ? { private_key: fields.private_key } : {}),
    },
  }),
  get: (accountId: string, certificateId: string): UpstreamRequest => ({
    method: 'GET',
    path: certificatePath(accountId, certificateId),
  }),
  delete: (accountId: string, certificateId: string): UpstreamRequest => ({
    method: 'DELETE',
    path: certificatePath(accountId, certificateId),
  }),
  associations: (accountId: string, certificateId: string): UpstreamRequest => ({
    method: 'GET',
    path: `${certificatePath(accountId, certificateId)}/associations`,
  }),
}
