/**
 * The emulator's own tests: calling its API as the gateway does (with the emulator's token), and its
 * control API. Certificates, fixtures, the clock and the control client come from the kit both
 * Workers' tests share (test/kit/).
 */
import { exports } from 'cloudflare:workers'
import { emulatorControl, type FetchTarget } from '../../test/kit/emulator'
import type { Envelope } from '../../test/kit/envelope'

export type { Envelope }

export const TOKEN = 'emulator-upstream-token'
export const SECRET = 'emulator-control-secret'
export const ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'
export const BASE = `https://api.cloudflare.com/client/v4/accounts/${ACCOUNT}/mtls_certificates`

export type Certificate = Record<string, unknown> & { id: string }

/** The emulator's source, the Worker under test (the bundle is reached through BUNDLED). */
const source: FetchTarget = exports.default

export function call(
  path: string,
  init: RequestInit & { json?: unknown } = {},
  target: FetchTarget = source,
): Promise<Response> {
  const headers = new Headers(init.headers)
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${TOKEN}`)
  let body = init.body
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json')
    body = JSON.stringify(init.json)
  }
  const url = path.startsWith('http') ? path : `${BASE}${path}`
  return target.fetch(url, { ...init, headers, body })
}

export async function callJson<T = unknown>(
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: Envelope<T> }> {
  const res = await call(path, init)
  return { status: res.status, headers: res.headers, body: (await res.json()) as Envelope<T> }
}

/** The emulator's controls on `target`: the source by default. */
export const emulator = (target: FetchTarget = source) => emulatorControl(target, SECRET)

/** A raw control call, for tests of the control API itself (status and body as answered). */
export const control = (method: string, path: string, json?: unknown, target = source) =>
  emulator(target).send(method, path, json)

export async function resetEmulator(target: FetchTarget = source): Promise<void> {
  await emulator(target).reset()
}

export async function upload(json: Record<string, unknown>) {
  return callJson<Certificate>('', { method: 'POST', json })
}
