/**
 * Calls the gateway the way a client does: a full HTTP request to the Worker's fetch handler,
 * with the suite's bindings, or with some of them overridden for one call.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { expect } from 'vitest'
import worker from '../../src/index'
import { makeCertificate } from '../kit/certificates'
import type { Envelope } from '../kit/envelope'
import { ACCOUNT, KEYS } from './identities'

export type { Envelope }

export const BASE = 'https://gateway.test/client/v4'
/** The gateway's own endpoints (whoami, explain, approvals, assign, audit). */
export const GATEWAY = 'https://gateway.test/gateway/v1'
export const certificatesUrl = (account = ACCOUNT) =>
  `${BASE}/accounts/${account}/mtls_certificates`
export const certificateUrl = (id: string, account = ACCOUNT) => `${certificatesUrl(account)}/${id}`

export interface CallOptions extends RequestInit {
  /** The gateway key to present; `null` sends no Authorization header. Default: the admin's. */
  key?: string | null
  env?: Partial<Env>
}

export async function call(url: string, options: CallOptions = {}): Promise<Response> {
  const { key = KEYS.admin, env: overrides, ...init } = options
  const headers = new Headers(init.headers)
  if (key !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${key}`)
  const ctx = createExecutionContext()
  const response = await worker.fetch(
    new Request(url, { ...init, headers }),
    { ...env, ...overrides },
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return response
}

export async function callJson<T = unknown>(url: string, options: CallOptions = {}) {
  const response = await call(url, options)
  const text = await response.text()
  return { response, status: response.status, text, body: JSON.parse(text) as Envelope<T> }
}

export function upload(body: unknown, options: CallOptions = {}) {
  return callJson<Record<string, unknown>>(certificatesUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...options,
  })
}

/** The fields of an upload body; `certificates` defaults to a fresh certificate. */
export interface UploadFields {
  ca?: boolean
  certificates?: string
  name?: string
  private_key?: string
}

/**
 * Uploads a certificate: the one given, or a fresh one (a leaf unless `ca`), so that it never
 * collides with another test's. Answers the gateway's answer, the PEM sent, and the new id
 * (undefined when the gateway refused).
 */
export async function uploadNew(fields: UploadFields = {}, options: CallOptions = {}) {
  const ca = fields.ca ?? false
  const certificates = fields.certificates ?? (await makeCertificate({ ca })).pem
  const answer = await upload({ ...fields, ca, certificates }, options)
  const result = answer.body.result as { id?: string } | null
  return { ...answer, certificates, id: result?.id }
}

/** `uploadNew`, for a test that needs the certificate to exist: fails here unless it was created. */
export async function uploadedId(fields: UploadFields = {}, options: CallOptions = {}) {
  const { status, text, id } = await uploadNew(fields, options)
  expect(status, `upload answered ${text}`).toBe(200)
  return id!
}
