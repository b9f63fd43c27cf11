/**
 * Issue 23 end to end, against what `npm start` runs (scripts/dev-servers.mjs: the emulator and
 * the gateway under `wrangler dev`, the gateway with `--test-scheduled`): the expiry watch's
 * notices reach a real HTTP receiver, which checks their Standard Webhooks signature itself with
 * node:crypto (never the gateway's signer), are retried by the coordinator's Durable Object alarm
 * after a 500, escalate when nobody acknowledged them, and changes made straight at the emulator
 * with another token come back as drift, each step read back through the gateway's audit API.
 *
 * This file starts servers of its own (not global-setup.ts's): the gateway needs LIFECYCLE_CHANNELS
 * pointing at this file's receiver, whose port is only known here, and a policy whose team has
 * channels. They are stopped by the last test, which checks that nothing is left running.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EMULATOR_CONTROL_SECRET, ROOT, type DevServers } from '../../scripts/dev-servers.mjs'
import { makeCertificate } from './support/certificates'
import { ownDevServers } from './support/own-servers'
import { ACCOUNT, DEMO_KEYS } from './support/context'

const DAY = 86_400_000
/** wrangler.toml's expiry-watch cron (src/lifecycle/expiry-cron.ts EXPIRY_WATCH_CRON). */
const WATCH_CRON = '*/5 * * * *'
const SECRET_BYTES = Buffer.from('lifecycle-e2e-webhook-secret-0032', 'utf8')
const SECRET = `whsec_${SECRET_BYTES.toString('base64')}`
/**
 * The gateway's retry base in the test policy: the alarm's retry comes within seconds, yet after
 * the two runs that made the first attempt have ended.
 */
const RETRY_BASE_SECONDS = 3
/** The snapshot's max_age in the test policy: a read after it refreshes (and finds drift). */
const MAX_AGE_SECONDS = 1

// --- the receiver: a plain Node HTTP server, as a team's webhook endpoint would be ---

interface Delivery {
  channel: string
  headers: http.IncomingHttpHeaders
  body: string
  status: number
}

const deliveries: Delivery[] = []
let failuresLeft = 0

const receiver = http.createServer((request, response) => {
  let body = ''
  request.setEncoding('utf8')
  request.on('data', (chunk: string) => (body += chunk))
  request.on('end', () => {
    const status = failuresLeft > 0 ? 500 : 200
    if (failuresLeft > 0) failuresLeft--
    deliveries.push({
      channel: (request.url ?? '').replace(/^\/hooks\//, ''),
      headers: request.headers,
      body,
      status,
    })
    response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no')
  })
})

/**
 * Standard Webhooks, checked here from the specification alone: `webhook-signature` holds one or
 * more space-separated `v1,<base64>`, each an HMAC-SHA256 of `id.timestamp.body` keyed with the
 * bytes of the base64 after `whsec_`; the timestamp must be near the sender's clock.
 */
function signatureValid(delivery: Delivery, senderNowMs: number): boolean {
  const id = delivery.headers['webhook-id']
  const timestamp = delivery.headers['webhook-timestamp']
  const signatures = delivery.headers['webhook-signature']
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string')
    return false
  if (Math.abs(Number(timestamp) * 1000 - senderNowMs) > 5 * 60_000) return false
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64')
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${delivery.body}`).digest()
  return signatures.split(' ').some((signature) => {
    const [version, value] = signature.split(',')
    const given = Buffer.from(value ?? '', 'base64')
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected)
  })
}

// --- the servers, as npm start runs them, with this file's policy and channels ---

let servers: DevServers | undefined
let workDir = ''
const gatewayUrl = () => servers!.gatewayUrl

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const hook = (name: string) => ({
    kind: 'webhook',
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/${name}`,
    secret: SECRET,
  })
  workDir = mkdtempSync(path.join(tmpdir(), 'mtls-e2e-lifecycle-'))
  const policy = JSON.parse(readFileSync(path.join(ROOT, 'demo/policy.json'), 'utf8')) as Record<
    string,
    unknown
  >
  policy.snapshot = { max_age_seconds: MAX_AGE_SECONDS }
  policy.lifecycle = {
    platform_channels: ['platform-hook'],
    teams: {
      payments: { channels: ['payments-hook'], escalation_channels: ['payments-escalation'] },
    },
    retry_base_seconds: RETRY_BASE_SECONDS,
  }
  const policyFile = path.join(workDir, 'policy.json')
  writeFileSync(policyFile, JSON.stringify(policy))
  servers = await ownDevServers(workDir, () => ({
    policyFile,
    vars: {
      LIFECYCLE_CHANNELS: JSON.stringify({
        'payments-hook': hook('payments-hook'),
        'payments-escalation': hook('payments-escalation'),
        'platform-hook': hook('platform-hook'),
      }),
    },
  }))
}, 120_000)

afterAll(async () => {
  // The last test stops them; after a failure before it, they go here.
  await servers?.stop()
  await new Promise((resolve) => receiver.close(resolve))
  if (workDir) rmSync(workDir, { recursive: true, force: true })
})

// --- calls ---

async function gateway<T>(
  key: string,
  pathAndQuery: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: { success: boolean; result: T } }> {
  const response = await fetch(`${gatewayUrl()}${pathAndQuery}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${key}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(15_000),
  })
  return {
    status: response.status,
    body: (await response.json()) as { success: boolean; result: T },
  }
}

const certificates = `/client/v4/accounts/${ACCOUNT}/mtls_certificates`

async function uploadAsAlice(validDays: number): Promise<string> {
  const made = await makeCertificate({ validDays })
  const answer = await gateway<{ id: string }>(DEMO_KEYS.alice, certificates, {
    body: { ca: false, certificates: made.pem },
  })
  expect(answer.status, JSON.stringify(answer.body)).toBe(200)
  return answer.body.result.id
}

async function emulatorControl(method: string, route: string, body: unknown) {
  const response = await fetch(`${servers!.emulatorUrl}/__emulator${route}`, {
    method,
    headers: { 'x-emulator-secret': EMULATOR_CONTROL_SECRET, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  })
  const answer = (await response.json()) as Record<string, unknown>
  expect(response.status, JSON.stringify(answer)).toBe(200)
  return answer
}

/**
 * One run of the watch at `timeMs` (the run's clock: the scheduled event's `scheduledTime`), as
 * the five-minute cron starts it, through the Workers runtime's own handler route under `wrangler
 * dev`: it answers once the run (its waitUntil) has ended, so a test knows the run is over.
 */
async function runWatch(timeMs = Date.now()): Promise<void> {
  const response = await fetch(
    `${gatewayUrl()}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(WATCH_CRON)}&time=${timeMs}`,
    { signal: AbortSignal.timeout(30_000) },
  )
  expect(response.status, await response.text()).toBe(200)
}

interface Entry {
  kind: string
  action: string
  team?: string
  member?: string
  certificate_id?: string
  lifecycle?: {
    certificate_id: string
    horizon: string
    channel?: string
    notice_id?: string
    delivery?: string
    attempts?: number
    reason?: string
    next_attempt_at?: string
    actor?: Record<string, string>
  }
  chain?: string
  seq?: number
}

/** The certificate's entries on the audit log, in chain order, read through the gateway's API. */
async function entriesOf(certificateId: string): Promise<Entry[]> {
  const answer = await gateway<Entry[]>(
    DEMO_KEYS.admin,
    `/gateway/v1/audit?certificate=${certificateId}&limit=1000`,
  )
  expect(answer.status, JSON.stringify(answer.body)).toBe(200)
  // Newest first by time; the chain's order is the one that counts.
  return answer.body.result.reverse().sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0))
}

const pendingNotices = async () =>
  (await gateway<unknown[]>(DEMO_KEYS.admin, '/gateway/v1/notices?state=pending')).body.result

/**
 * Waits for what the runs started in the background (the runtime's waitUntil, the alarm) to
 * happen; the bound only turns a hang into a failure with a message, it is not what is tested.
 */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 45_000
  for (;;) {
    const found = await probe()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`still waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

const bodyOf = (d: Delivery) =>
  JSON.parse(d.body) as { type: string; data: { certificate_id: string; horizon: string } }
const to = (certificateId: string) =>
  deliveries.filter((d) => bodyOf(d).data.certificate_id === certificateId)

// --- the scenario ---

describe('expiry notices under wrangler dev', () => {
  let expiring = ''
  let firstRunAt = 0

  it('one notice at the 14-day horizon, signed; two concurrent runs send it once; a 500 is retried by the alarm under the same webhook-id', async () => {
    // Ten and a half days: 10 whole days left at the first run, 6 four days later.
    expiring = await uploadAsAlice(10.5)
    failuresLeft = 1
    firstRunAt = Date.now()

    // Two runs at once: the notice is queued once and sent once (the receiver answers 500).
    await Promise.all([runWatch(firstRunAt), runWatch(firstRunAt)])
    expect(to(expiring).map((d) => [d.channel, d.status])).toEqual([['payments-hook', 500]])
    const waiting = (await pendingNotices()) as { certificate_id: string; attempts: number }[]
    expect(waiting).toMatchObject([
      { certificate_id: expiring, attempts: 1, last_reason: 'status 500', state: 'pending' },
    ])

    // No run is started: the coordinator's alarm, set at the retry's due time, sends it.
    const sent = await eventually('the retry, delivered', async () => {
      const mine = to(expiring)
      return mine.some((d) => d.status === 200) ? mine : undefined
    })
    await eventually('no pending notice', async () =>
      (await pendingNotices()).length === 0 ? true : undefined,
    )
    // Two more runs at once: it was delivered, nothing goes again.
    await Promise.all([runWatch(), runWatch()])

    expect(to(expiring).map((d) => [d.channel, d.status])).toEqual([
      ['payments-hook', 500],
      ['payments-hook', 200],
    ])
    expect(sent[1]!.headers['webhook-id']).toBe(sent[0]!.headers['webhook-id'])
    for (const delivery of sent) expect(signatureValid(delivery, Date.now())).toBe(true)
    // A signature under another secret, or over another body, does not hold.
    expect(
      signatureValid({ ...sent[1]!, body: sent[1]!.body.replace('14d', '30d') }, Date.now()),
    ).toBe(false)
    expect(bodyOf(sent[1]!)).toMatchObject({
      type: 'certificate.expiring',
      data: { certificate_id: expiring, horizon: '14d', team: 'payments', days_left: 10 },
    })
    expect(deliveries.filter((d) => d.channel !== 'payments-hook')).toEqual([])

    const entries = (await entriesOf(expiring)).filter((e) => e.kind !== 'request')
    expect(
      entries.map((e) => [
        e.kind,
        e.lifecycle!.channel,
        e.lifecycle!.delivery,
        e.lifecycle!.attempts,
      ]),
    ).toEqual([
      ['notice', 'payments-hook', 'failed', 1],
      ['notice', 'payments-hook', 'delivered', 2],
    ])
    expect(entries[0]!.lifecycle).toMatchObject({ reason: 'status 500' })
    // The failure says when the alarm would retry: the policy's base after that attempt.
    const retryAt = Date.parse(entries[0]!.lifecycle!.next_attempt_at!)
    expect(retryAt).toBeGreaterThan(firstRunAt)
    expect(retryAt).toBeLessThanOrEqual(Date.now())
    for (const entry of entries) {
      expect(entry.lifecycle!.notice_id).toBe(sent[1]!.headers['webhook-id'])
      expect(entry).toMatchObject({ team: 'payments', member: '_gateway', chain: ACCOUNT })
    }
    expect(JSON.stringify(entries)).not.toContain(SECRET.slice('whsec_'.length))
    expect(JSON.stringify(entries)).not.toContain('127.0.0.1')
  })

  it('four days later, the notice unacknowledged: the 7-day notice, and the escalation channel told', async () => {
    expect(expiring).not.toBe('')
    const later = firstRunAt + 4 * DAY
    await runWatch(later)
    expect(await pendingNotices()).toEqual([])

    const escalation = to(expiring).filter((d) => d.channel === 'payments-escalation')
    expect(escalation.map((d) => [bodyOf(d).type, bodyOf(d).data.horizon, d.status])).toEqual([
      ['certificate.escalation', '7d', 200],
    ])
    expect(signatureValid(escalation[0]!, later)).toBe(true)
    expect(
      to(expiring)
        .filter((d) => d.channel === 'payments-hook' && d.status === 200)
        .map((d) => bodyOf(d).data.horizon),
    ).toEqual(['14d', '7d'])

    const entries = (await entriesOf(expiring)).filter((e) => e.kind !== 'request')
    expect(
      entries.map((e) => [
        e.kind,
        e.lifecycle!.horizon,
        e.lifecycle!.channel,
        e.lifecycle!.delivery,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['notice', '14d', 'payments-hook', 'failed'],
        ['notice', '14d', 'payments-hook', 'delivered'],
        ['notice', '7d', 'payments-hook', 'delivered'],
        ['escalation', '7d', 'payments-escalation', 'delivered'],
      ]),
    )
    expect(entries).toHaveLength(4)
    expect(entries.find((e) => e.kind === 'escalation')!.lifecycle!.notice_id).toBe(
      escalation[0]!.headers['webhook-id'],
    )
  })
})

describe('drift under wrangler dev', () => {
  it("an upload and a delete made at the emulator with another token are on the audit log, attributed to that token, after a read past the snapshot's max_age", async () => {
    const owned = await uploadAsAlice(365)
    // The baseline: the gateway's snapshot holds `owned`.
    const before = await gateway<{ id: string }[]>(DEMO_KEYS.admin, certificates, {
      headers: { 'cache-control': 'no-cache' },
    })
    expect(before.body.result.map((c) => c.id)).toContain(owned)

    const terraform = {
      context: 'api_token',
      token_id: 'tf-e2e-01',
      token_name: 'terraform-e2e',
      email: 'ci@example.com',
    }
    const made = await makeCertificate({})
    const theirs = (await emulatorControl('POST', '/outside', {
      account_id: ACCOUNT,
      actor: terraform,
      certificate: { ca: false, certificates: made.pem },
    })) as { certificate: { id: string } }
    await emulatorControl('DELETE', `/outside/${owned}`, { account_id: ACCOUNT, actor: terraform })

    // Past max_age, a read refreshes the snapshot and the refresh sees both changes.
    await new Promise((resolve) => setTimeout(resolve, MAX_AGE_SECONDS * 1000 + 500))
    const after = await gateway<{ id: string }[]>(DEMO_KEYS.admin, certificates)
    expect(after.status).toBe(200)

    const driftOf = (id: string) =>
      eventually(`the drift entry of ${id}`, async () => {
        const drift = (await entriesOf(id)).filter((e) => e.kind === 'drift')
        return drift.length > 0 ? drift : undefined
      })
    const appeared = await driftOf(theirs.certificate.id)
    const vanished = await driftOf(owned)
    expect(appeared.map((e) => [e.lifecycle!.horizon, e.team])).toEqual([['appeared', undefined]])
    expect(vanished.map((e) => [e.lifecycle!.horizon, e.team])).toEqual([['vanished', 'payments']])
    for (const entry of [...appeared, ...vanished]) {
      expect(entry.lifecycle!.actor).toMatchObject({
        context: 'api_token',
        token_id: 'tf-e2e-01',
        token_name: 'terraform-e2e',
      })
      expect(entry.chain).toBe(ACCOUNT)
    }
  })
})

describe('the servers', () => {
  it("serve wrangler's /__scheduled route (--test-scheduled), which starts the watch", async () => {
    const response = await fetch(
      `${gatewayUrl()}/__scheduled?cron=${encodeURIComponent(WATCH_CRON)}`,
      { signal: AbortSignal.timeout(30_000) },
    )
    expect([response.status, await response.text()]).toEqual([200, 'Ran scheduled event'])
  })

  it('stop, leaving nothing running', async () => {
    const pids = servers!.pids
    await servers!.stop()
    servers = undefined
    // Each wrangler leads its process group (workerd included): no member of those groups is
    // left running (a zombie waiting to be reaped is not running).
    const running = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .flatMap((entry) => {
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
          // After the command name (in parentheses): state, ppid, pgrp.
          const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
          return pids.includes(Number(group)) && state !== 'Z' ? [Number(entry)] : []
        } catch {
          return [] // gone meanwhile
        }
      })
    expect(pids).toHaveLength(2)
    expect(running).toEqual([])
  })
})
