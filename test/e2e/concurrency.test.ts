/**
 * One member's requests at once, in one isolate, under `wrangler dev` (a real workerd, where each
 * request has its own I/O context and the runtime cancels a request that waits on a promise
 * another request's I/O will settle: "had hung", a 500 that production calls error 1101). The
 * budget gate's lease renewals, a slow upstream and a spent budget are where it happened
 * (issue 17). This file starts its own pair of Workers with a small budget, so that spending it
 * does not touch the suite's shared pair.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { EMULATOR_CONTROL_SECRET, ROOT, type DevServers } from '../../scripts/dev-servers.mjs'
import { ACCOUNT, DEMO_KEYS } from './support/context'
import { makeCertificate } from './support/certificates'
import { ownDevServers } from './support/own-servers'

const ACCESS_AUD = 'e2e-concurrency-audience'
const ACCESS_EMAIL = 'dana@example.com'

let servers: DevServers
let workDir: string
let logFile: string
const log = () => readFileSync(logFile, 'utf8')

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'mtls-concurrency-'))
  logFile = path.join(workDir, 'servers.log')
  const out = createWriteStream(logFile)
  const policy = JSON.parse(readFileSync(path.join(ROOT, 'demo/policy.json'), 'utf8')) as Record<
    string,
    unknown
  >
  // 200 requests per window: the gateway's cap is 180 (18 held for admins), small enough to spend.
  policy.budget = { upstream_requests: 200, window_seconds: 300 }
  // A member known to Cloudflare Access, whose key set the emulator serves (the last test).
  ;(policy.members as unknown[]).push({
    id: 'dana',
    team: 'identity',
    roles: ['developer'],
    access_email: ACCESS_EMAIL,
  })

  // The member's own rate far above the load: this test is about the token's budget.
  policy.limits = { member_requests_per_minute: 100_000 }
  const policyFile = path.join(workDir, 'policy.json')
  writeFileSync(policyFile, JSON.stringify(policy))
  servers = await ownDevServers(workDir, ({ emulatorPort }) => ({
    policyFile,
    vars: { ACCESS_TEAM_DOMAIN: `http://127.0.0.1:${emulatorPort}`, ACCESS_AUD },
    onLine: (worker, line) => out.write(`[${worker}] ${line}\n`),
  }))
}, 120_000)

afterAll(async () => {
  await servers?.stop()
  if (process.env.E2E_KEEP === undefined) rmSync(workDir, { recursive: true, force: true })
})

async function emulatorControl(method: string, route: string, body: unknown) {
  const response = await fetch(`${servers.emulatorUrl}/__emulator/${route}`, {
    method,
    headers: { 'x-emulator-secret': EMULATOR_CONTROL_SECRET, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(response.status).toBe(200)
}

const emulatorFaults = (faults: Record<string, unknown>[]) =>
  emulatorControl('POST', 'faults', { faults })

const certificatesUrl = () =>
  `${servers.gatewayUrl}/client/v4/accounts/${ACCOUNT}/mtls_certificates`

/** The envelope's first error code, '' for none, or 'not JSON'. */
function codeOf(text: string): string {
  try {
    return String((JSON.parse(text) as { errors: { code: number }[] }).errors[0]?.code ?? '')
  } catch {
    return 'not JSON'
  }
}

/** `concurrency` connections send requests until `durationMs` has passed; counts per status and code. */
async function load(
  url: string,
  credentials: Record<string, string>,
  concurrency: number,
  durationMs: number,
) {
  const counts: Record<string, number> = {}
  const until = Date.now() + durationMs
  const connection = async () => {
    while (Date.now() < until) {
      const response = await fetch(url, { headers: credentials })
      const text = await response.text()
      const code = codeOf(text)
      const cell = code === '' ? String(response.status) : `${response.status} ${code}`
      counts[cell] = (counts[cell] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: concurrency }, connection))
  return counts
}

/** One member's load per case: the minute the "done" asks for (issue 17). */
const LOAD_MS = 60_000

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
/**
 * Issue 21: a get is served from the account's snapshot without an upstream call; `no-cache` makes
 * each one read the upstream, charged to the member, so that the budget is renewed and spent.
 */
const upstreamReads = (key: string) => ({ ...bearer(key), 'cache-control': 'no-cache' })

const serverErrors = (counts: Record<string, number>) =>
  Object.entries(counts).filter(([cell]) => cell.startsWith('5'))
const hung = () => log().match(/had hung/g)?.length ?? 0
/** Requests the runtime cancelled as hung since the test began (the log is the gateway's). */
let hungBefore = 0
beforeEach(() => {
  hungBefore = hung()
})
const hungSince = () => hung() - hungBefore

describe('one member at c=10 and c=50, one isolate', () => {
  let id: string

  beforeAll(async () => {
    const made = await makeCertificate({ ca: false })
    const response = await fetch(certificatesUrl(), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${DEMO_KEYS.admin}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ca: false, certificates: made.pem }),
    })
    const body = (await response.json()) as { result: { id: string } }
    expect(response.status).toBe(200)
    id = body.result.id
  })

  it('renews leases with the upstream slow, then is refused with 429 once the budget is spent, never a 500', async () => {
    await emulatorFaults([{ kind: 'latency', ms: 30, times: 100_000, match: { method: 'GET' } }])
    const counts = await load(
      `${certificatesUrl()}/${id}`,
      upstreamReads(DEMO_KEYS.admin),
      10,
      LOAD_MS,
    )
    expect(serverErrors(counts), JSON.stringify(counts)).toEqual([])
    expect(hungSince(), 'the gateway log says a request had hung').toBe(0)
    // Served until the cap, refused with the gateway's own 429 after it.
    expect(counts['200'], JSON.stringify(counts)).toBeGreaterThan(0)
    expect(counts['429 18429'], JSON.stringify(counts)).toBeGreaterThan(0)
  }, 120_000)

  it('stays refused, never a 500, at c=50 with the budget spent', async () => {
    const counts = await load(
      `${certificatesUrl()}/${id}`,
      upstreamReads(DEMO_KEYS.admin),
      50,
      LOAD_MS,
    )
    expect(counts, JSON.stringify(counts)).toEqual({ '429 18429': expect.any(Number) })
    expect(hungSince(), 'the gateway log says a request had hung').toBe(0)
  }, 120_000)

  // Issue 21: lists from the snapshot at c=50 share the isolate's encoded answers
  // (snapshot/encoded.ts: bytes, never a promise) and, cold, wait on the coordinator, not each other.
  it('serves lists from the snapshot to many at once from one member, never a 500', async () => {
    const counts = await load(certificatesUrl(), bearer(DEMO_KEYS.alice), 50, 3_000)
    expect(serverErrors(counts), JSON.stringify(counts)).toEqual([])
    expect(counts['200'], JSON.stringify(counts)).toBeGreaterThan(0)
    expect(hungSince(), 'the gateway log says a request had hung').toBe(0)
  })

  it('answers whoami to many at once from one member, never a 500', async () => {
    const counts = await load(
      `${servers.gatewayUrl}/gateway/v1/whoami`,
      bearer(DEMO_KEYS.carol),
      50,
      3_000,
    )
    expect(serverErrors(counts), JSON.stringify(counts)).toEqual([])
    expect(hungSince(), 'the gateway log says a request had hung').toBe(0)
  })

  it('verifies Access tokens from a cold key set for many requests at once, never a 500', async () => {
    // The first requests of the isolate all find the key set unfetched: none may wait on
    // another's fetch (jose's remote key set fetches per request in Workers for this reason).
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
    const jwk = {
      ...(await exportJWK(publicKey)),
      kid: 'e2e-concurrency',
      alg: 'RS256',
      use: 'sig',
    }
    await emulatorControl('PUT', 'access/jwks', { keys: [jwk] })
    const token = await new SignJWT({ email: ACCESS_EMAIL })
      .setProtectedHeader({ alg: 'RS256', kid: 'e2e-concurrency' })
      .setIssuer(`http://127.0.0.1:${new URL(servers.emulatorUrl).port}`)
      .setAudience(ACCESS_AUD)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey)
    const counts = await load(
      `${servers.gatewayUrl}/gateway/v1/whoami`,
      { 'cf-access-jwt-assertion': token },
      25,
      3_000,
    )
    expect(counts, JSON.stringify(counts)).toEqual({ '200': expect.any(Number) })
    expect(hungSince(), 'the gateway log says a request had hung').toBe(0)
  })
})
