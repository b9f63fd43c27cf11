/**
 * What every e2e test needs: where the two servers are (from global-setup.ts), the demo
 * identities (docs/api.md, "Calling the gateway"), the emulator's control API (README of emulator/) and
 * a plain-fetch view of the gateway for setting up and checking state. The clients under test
 * never go through here: they run as processes of their own (processes.ts).
 */
import { inject } from 'vitest'
import { EMULATOR_CONTROL_SECRET, EMULATOR_TOKEN } from '../../../scripts/dev-servers.mjs'

export interface E2eContext {
  gatewayUrl: string
  emulatorUrl: string
  ports: {
    gatewayPort: number
    emulatorPort: number
    gatewayInspectorPort: number
    emulatorInspectorPort: number
  }
  pids: number[]
  workDir: string
  startupMs: number
}

export const e2e = () => inject('e2e')

/** demo/policy.json's account; every demo team has it. */
export const ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'

/** The demo keys: public, and refused by the gateway in front of the real Cloudflare API. */
export const DEMO_KEYS = {
  alice: 'mtlsgw_DEMO_payments_alice_xxxxxxxxxxxxxxxxxxxxxxx', // payments, developer
  bob: 'mtlsgw_DEMO_payments_bob_xxxxxxxxxxxxxxxxxxxxxxxxx', // payments, lead
  carol: 'mtlsgw_DEMO_identity_carol_xxxxxxxxxxxxxxxxxxxxxxx', // identity, developer
  admin: 'mtlsgw_DEMO_platform_admin_xxxxxxxxxxxxxxxxxxxxxxx', // platform, admin
  auditor: 'mtlsgw_DEMO_platform_auditor_xxxxxxxxxxxxxxxxxxxxx', // platform, auditor
} as const

export { EMULATOR_TOKEN }

/** One API as a client sees it: the base URL wrangler and the SDK are given, and a token. */
export interface Target {
  name: 'gateway' | 'emulator'
  /** `…/client/v4` */
  apiBase: string
}

export const gateway = (): Target => ({ name: 'gateway', apiBase: `${e2e().gatewayUrl}/client/v4` })
export const emulator = (): Target => ({
  name: 'emulator',
  apiBase: `${e2e().emulatorUrl}/client/v4`,
})

export const certificatesPath = (id?: string) =>
  `/accounts/${ACCOUNT}/mtls_certificates${id === undefined ? '' : `/${id}`}`

export interface Envelope<T = unknown> {
  success: boolean
  errors: { code: number; message: string; source?: { pointer: string } }[]
  messages: { code: number; message: string }[]
  result: T
  result_info?: Record<string, number>
  [extra: string]: unknown
}

export interface Certificate {
  id: string
  ca: boolean
  certificates: string
  name?: string
  issuer: string
  serial_number: string
  signature: string
  expires_on: string
  uploaded_on: string
  updated_at?: string
  type?: string
}

/** A call to either API by plain fetch, for setting up and checking, never as the client under test. */
export async function api<T = unknown>(
  target: Target,
  token: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Envelope<T>; headers: Headers }> {
  const response = await fetch(`${target.apiBase}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await response.text()
  let body: Envelope<T>
  try {
    body = JSON.parse(text) as Envelope<T>
  } catch {
    throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status}, not JSON: ${text}`)
  }
  return { status: response.status, body, headers: response.headers }
}

/** Uploads through `target` and returns the certificate; fails the test with the answer otherwise. */
export async function upload(
  target: Target,
  token: string,
  body: { ca: boolean; certificates: string; name?: string; private_key?: string },
): Promise<Certificate> {
  const answer = await api<Certificate>(target, token, certificatesPath(), { body })
  if (answer.status !== 200 || !answer.body.success) {
    throw new Error(`setup upload failed: ${answer.status} ${JSON.stringify(answer.body)}`)
  }
  return answer.body.result
}

/** Everything the account holds, straight from the emulator (no team filter, no gateway). */
export async function stored(): Promise<Certificate[]> {
  const answer = await api<Certificate[]>(emulator(), EMULATOR_TOKEN, certificatesPath())
  return answer.body.result
}

// --- the emulator's test-only controls (emulator/README.md "Control API") ---

export interface LoggedRequest {
  method: string
  path: string
  query: string
  headers: Record<string, string>
  body: string | null
  at: string
}

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${e2e().emulatorUrl}/__emulator${path}`, {
    method,
    headers: {
      'x-emulator-secret': EMULATOR_CONTROL_SECRET,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  })
  const answer = (await response.json()) as T
  if (!response.ok) throw new Error(`emulator control ${method} ${path}: ${JSON.stringify(answer)}`)
  return answer
}

export const emulatorControl = {
  /** Certificates, associations, faults, limits, request log: all back to a fresh start. */
  reset: () => control('POST', '/reset'),
  faults: (faults: Record<string, unknown>[]) => control('POST', '/faults', { faults }),
  clearFaults: () => control('DELETE', '/faults'),
  associations: (id: string, associations: { service: string; status: string }[]) =>
    control('PUT', `/associations/${id}`, { associations }),
  requests: async () => (await control<{ requests: LoggedRequest[] }>('GET', '/requests')).requests,
  clearRequests: () => control('DELETE', '/requests'),
}

/**
 * The account back to a fresh start, as the gateway sees it too: the emulator reset is a change
 * made outside the gateway, which its account snapshot shows within `max_age` (30 s for the demo),
 * so a list with `Cache-Control: no-cache` reads the emptied account and stores it at once (docs/
 * operators.md, "The snapshot"). The request log is then cleared, so a test counts only its own.
 */
export async function resetAccount(): Promise<void> {
  await emulatorControl.reset()
  const synced = await api(gateway(), DEMO_KEYS.admin, certificatesPath(), {
    headers: { 'cache-control': 'no-cache' },
  })
  if (synced.status !== 200) throw new Error(`the snapshot's no-cache list: ${synced.status}`)
  await emulatorControl.clearRequests()
}

/** The API requests the emulator received with this method, in order (reads of the gateway too). */
export async function upstreamCalls(method: string): Promise<LoggedRequest[]> {
  return (await emulatorControl.requests()).filter((r) => r.method === method)
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
/** The reference's timestamp format: RFC 3339, UTC, microseconds. */
export const MICROS_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/
/** expires_on: RFC 3339, UTC, whole seconds. */
export const SECONDS_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
