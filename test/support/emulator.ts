/**
 * The emulator's test-only controls (emulator/README.md), reached through the EMULATOR binding.
 * The request log is how tests prove what did, and did not, reach the upstream.
 */
import { env } from 'cloudflare:test'
import { makeCertificate } from './certificates'
import { ACCOUNT, EMULATOR_CONTROL_SECRET } from './identities'

export interface LoggedRequest {
  method: string
  path: string
  query: string
  headers: Record<string, string>
  body: string | null
  at: string
}

export type Fault =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status: number }
  | { kind: 'rate_limit'; retry_after?: number }
  | { kind: 'non_json'; status?: number }
  | { kind: 'null_result' }
  | { kind: 'drop' }
  | { kind: 'reset' }

async function control(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await env.EMULATOR.fetch(`http://emulator/__emulator${path}`, {
    method,
    headers: { 'x-emulator-secret': EMULATOR_CONTROL_SECRET, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (!response.ok)
    throw new Error(
      `emulator control ${method} ${path}: ${response.status} ${await response.text()}`,
    )
  return response.json()
}

export const emulator = {
  reset: () => control('POST', '/reset'),
  setAssociations: (certificateId: string, associations: { service: string; status: string }[]) =>
    control('PUT', `/associations/${certificateId}`, { associations }),
  seedCertificate: (accountId: string, certificate: Record<string, unknown>) =>
    control('POST', '/certificates', { account_id: accountId, certificate }),
  setLimits: (limits: Record<string, number>) => control('PUT', '/limits', limits),
  addFaults: (
    ...faults: (Fault & { times?: number; match?: { method?: string; path_contains?: string } })[]
  ) => control('POST', '/faults', { faults }),
  /** The Cloudflare Access key set served at `/cdn-cgi/access/certs` (public JWKs only). */
  setAccessKeys: (keys: JsonWebKey[]) => control('PUT', '/access/jwks', { keys }),
  /** The Access key set and how many times the gateway fetched it since the last reset. */
  async accessKeys(): Promise<{ keys: JsonWebKey[]; fetches: number }> {
    return (await control('GET', '/access/jwks')) as { keys: JsonWebKey[]; fetches: number }
  },
  async requests(): Promise<LoggedRequest[]> {
    const { requests } = (await control('GET', '/requests')) as { requests: LoggedRequest[] }
    return requests
  },
}

/**
 * A leaf certificate placed straight into the emulator, as if uploaded outside the gateway: it has
 * no owner in the ledger. Returns its id.
 */
export async function seedUnowned(account = ACCOUNT): Promise<string> {
  const made = await makeCertificate({ ca: false })
  const seeded = (await emulator.seedCertificate(account, {
    ca: false,
    certificates: made.pem,
  })) as {
    certificate: { id: string }
  }
  return seeded.certificate.id
}
