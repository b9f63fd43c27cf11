/**
 * Calls the gateway the way a client does: a full HTTP request to the Worker's fetch handler,
 * with the suite's bindings, or with some of them overridden for one call.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import worker from '../../src/index'
import { ACCOUNT, KEYS } from './identities'

export const BASE = 'https://gateway.test/client/v4'
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

export interface Envelope<T = unknown> {
  success: boolean
  errors: { code: number; message: string; source?: { pointer: string } }[]
  messages: unknown[]
  result: T
  result_info?: Record<string, number>
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
