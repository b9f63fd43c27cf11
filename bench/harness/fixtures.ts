/**
 * What the load runs act on: the accounts, the policy, the certificates seeded through the
 * emulator's test controls (emulator/README.md "Control API"), and the certificates that uploads
 * send and deletes remove, all made before the run that uses them.
 *
 * Each purpose has its own account, so that a list of 100 stays a list of 100 while uploads and
 * deletes come and go elsewhere.
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { EMULATOR_CONTROL_SECRET, ROOT } from '../../scripts/dev-servers.mjs'
import { makeCertificate } from '../../test/e2e/support/certificates'

/** The demo keys (docs/api.md, "Calling the gateway"): public, refused in front of the real API. */
export const KEYS = {
  admin: 'mtlsgw_DEMO_platform_admin_xxxxxxxxxxxxxxxxxxxxxxx', // account-wide: reads
  alice: 'mtlsgw_DEMO_payments_alice_xxxxxxxxxxxxxxxxxxxxxxx', // payments developer: uploads
  bob: 'mtlsgw_DEMO_payments_bob_xxxxxxxxxxxxxxxxxxxxxxxxx', // payments lead: deletes
} as const

export const LIST_SIZES = [10, 100, 1000] as const
export type ListSize = (typeof LIST_SIZES)[number]

const account = (n: number) => n.toString(16).padStart(32, 'b')
export const ACCOUNTS = {
  list: { 10: account(0x10), 100: account(0x100), 1000: account(0x1000) } as Record<
    ListSize,
    string
  >,
  uploads: account(0xa),
  deletes: account(0xd),
  /** One certificate payments uploaded through the gateway: what its own team reads. */
  reads: account(0xe),
  /** Issue 21: the account five teams of two members poll (harness/poll.ts). */
  poll: account(0xf),
}

/**
 * Issue 21: the poll scenario's five teams of two developers each (harness/poll.ts), keys of the
 * gateway's form (`mtlsgw_` and 43 characters), public like the demo's.
 */
export const POLL_TEAMS = [1, 2, 3, 4, 5].map((n) => ({
  id: `poll${n}`,
  members: ['a', 'b'].map((m) => ({
    id: `poll${n}${m}`,
    key: `mtlsgw_BENCH_poll${n}_${m}_`.padEnd(50, 'x'),
  })),
}))

/**
 * The demo policy, with the bench's accounts given to payments (uploads, deletes) and platform
 * (the admin, who reads every certificate, owned or not: the seeded ones are unowned), and a token
 * budget far above the load (the most a policy allows; the emulator's limit is raised too, seedEmulator), and so each member's
 * rate (the most a policy allows; its leases are still taken): the bench measures the gateway's cost, not its 429s. Written to `file` for `startDevServers`.
 */
/** `upstreamRequests`: the policy's budget per 5 minutes (default: the most it allows, never spent). */
export function writeBenchPolicy(file: string, upstreamRequests = 1_000_000): void {
  const policy = JSON.parse(readFileSync(path.join(ROOT, 'demo/policy.json'), 'utf8')) as {
    teams: { id: string; accounts: string[] }[]
    budget?: unknown
    limits?: unknown
  }
  policy.budget = { upstream_requests: upstreamRequests }
  policy.limits = { member_requests_per_minute: 100_000 }
  const extra = [
    ...Object.values(ACCOUNTS.list),
    ACCOUNTS.uploads,
    ACCOUNTS.deletes,
    ACCOUNTS.reads,
  ]
  for (const team of policy.teams) {
    if (team.id === 'payments' || team.id === 'platform') team.accounts.push(...extra)
  }
  // Issue 21: the poll scenario's teams, developers in the shared account.
  const members = (policy as unknown as { members: unknown[] }).members
  for (const team of POLL_TEAMS) {
    policy.teams.push({ id: team.id, accounts: [ACCOUNTS.poll] })
    for (const member of team.members) {
      const key_sha256 = createHash('sha256').update(member.key).digest('hex')
      members.push({ id: member.id, team: team.id, roles: ['developer'], key_sha256 })
    }
  }
  writeFileSync(file, JSON.stringify(policy))
}

async function control(emulatorUrl: string, method: string, route: string, body: unknown) {
  const send = () =>
    fetch(`${emulatorUrl}/__emulator/${route}`, {
      method,
      headers: { 'x-emulator-secret': EMULATOR_CONTROL_SECRET, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  // A connection refused or reset before an answer (wrangler dev's proxy, on a loaded machine)
  // reached nothing: sent once more.
  const response = await send().catch(async () => {
    await new Promise((resolve) => setTimeout(resolve, 500))
    return send()
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`emulator ${method} ${route}: ${response.status} ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

/** No rate limit: the bench measures the Workers, not the upstream's budget. */
export function liftRateLimit(emulatorUrl: string) {
  return control(emulatorUrl, 'PUT', 'limits', { requests_per_window: 1_000_000_000 })
}

/**
 * Every API request answered `ms` later (the emulator's latency fault; 0 clears it), for both
 * targets alike: Cloudflare's API is further away than a local emulator.
 */
export async function delayUpstream(emulatorUrl: string, ms: number) {
  await control(emulatorUrl, 'DELETE', 'faults', undefined)
  if (ms > 0) {
    await control(emulatorUrl, 'POST', 'faults', {
      faults: [{ kind: 'latency', ms, times: 1_000_000_000 }],
    })
  }
}

/** Runs `task` over `items`, `width` at a time. */
export async function inBatches<T, R>(items: T[], width: number, task: (item: T) => Promise<R>) {
  const results: R[] = []
  for (let i = 0; i < items.length; i += width) {
    results.push(...(await Promise.all(items.slice(i, i + width).map(task))))
  }
  return results
}

/**
 * Empties the emulator's request log: it keeps up to 10,000 requests with their bodies (uploads
 * carry PEMs and keys), memory the emulator's isolate would otherwise carry through the run.
 */
export function clearRequestLog(emulatorUrl: string) {
  return control(emulatorUrl, 'DELETE', 'requests', undefined)
}

/** `count` fresh leaf certificates with their PKCS#8 keys. */
export function leaves(count: number) {
  return inBatches(
    Array.from({ length: count }, () => undefined),
    16,
    () => makeCertificate(),
  )
}

/**
 * Seeds `count` certificates into `accountId` as the upstream would show them (the fields a list
 * returns, with the PEM), and returns their ids.
 */
export async function seedCertificates(emulatorUrl: string, accountId: string, count: number) {
  const made = await leaves(count)
  return inBatches(made, 16, async (cert) => {
    const answer = await control(emulatorUrl, 'POST', 'certificates', {
      account_id: accountId,
      certificate: {
        name: cert.subject.replace(/^CN=([^,]+).*/, '$1'),
        ca: false,
        certificates: cert.pem,
        issuer: cert.issuer,
        serial_number: BigInt(`0x${cert.cert.serialNumber}`).toString(10),
        signature: cert.signature,
        expires_on: cert.cert.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        type: 'custom',
        uploaded_on: new Date().toISOString(),
      },
    })
    return (answer.certificate as { id: string }).id
  })
}

/** Bare ids to delete through the bare Worker (the bare Worker checks no owner). */
export async function seedForDelete(emulatorUrl: string, accountId: string, count: number) {
  return inBatches(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) => {
      const answer = await control(emulatorUrl, 'POST', 'certificates', {
        account_id: accountId,
        certificate: { name: `bench-delete-${i}`, ca: false, type: 'custom' },
      })
      return (answer.certificate as { id: string }).id
    },
  )
}

export function setAssociations(emulatorUrl: string, id: string) {
  return control(emulatorUrl, 'PUT', `associations/${id}`, {
    associations: [
      { service: 'gateway', status: 'active' },
      { service: 'workers', status: 'active' },
    ],
  })
}

/** Upload bodies, as a client sends them: a leaf, its key, a name. */
export async function uploadBodies(count: number): Promise<string[]> {
  const made = await leaves(count)
  return made.map((cert, i) =>
    JSON.stringify({
      ca: false,
      certificates: cert.pem,
      private_key: cert.pkcs8,
      name: `bench-upload-${i}`,
    }),
  )
}
