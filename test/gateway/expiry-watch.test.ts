/**
 * Issue 23, the expiry watch: a certificate 10 days from expiry gives exactly one notice, at the
 * 14-day horizon, to the owning team's webhook (a receiver in the emulator), signed per Standard
 * Webhooks and checked here with an HMAC of the test's own; two overlapping runs still send one;
 * a receiver answering 500 gets it again under the same id after the backoff; a notice nobody
 * acknowledged escalates when the next horizon comes; a notice that cannot be delivered waits,
 * dead; and each step is an entry in the account's chain.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { backoffMs, MAX_ATTEMPTS } from '../../src/coordinator/notices'
import { expiryWatchDeps } from '../../src/lifecycle/expiry-cron'
import { watchExpiry } from '../../src/lifecycle/watch'
import { makeCertificate } from '../kit/certificates'
import type { Delivery } from '../kit/emulator'
import { auditEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { GATEWAY, callJson, uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'

const DAY = 86_400_000
const SECRET_BYTES = 'lifecycle-test-webhook-secret-32b'
const WHSEC = `whsec_${btoa(SECRET_BYTES)}`
const CHANNELS = JSON.stringify({
  'payments-hook': {
    kind: 'webhook',
    url: 'https://hooks.test/__receiver/payments',
    secret: WHSEC,
  },
  'payments-oncall': { kind: 'slack', url: 'https://hooks.test/__receiver/payments-oncall' },
  'platform-hook': {
    kind: 'webhook',
    url: 'https://hooks.test/__receiver/platform',
    secret: WHSEC,
  },
})

async function watchEnv(snapshot = { max_age_seconds: 0 }): Promise<Env> {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  policy.snapshot = snapshot
  policy.lifecycle = {
    platform_channels: ['platform-hook'],
    teams: { payments: { channels: ['payments-hook'], escalation_channels: ['payments-oncall'] } },
  }
  return { ...env, POLICY: JSON.stringify(policy), LIFECYCLE_CHANNELS: CHANNELS }
}

/** One run of the watch as the cron runs it, at `nowMs` (the snapshot off unless asked). */
async function run(nowMs: number, snapshot?: { max_age_seconds: number }) {
  // Drift off: certificates of earlier cases vanish with each emulator reset, and their drift
  // notices would take the receiver's queued failures (drift has its own tests, drift.test.ts).
  const { auditLog: _drift, ...deps } = expiryWatchDeps(await watchEnv(snapshot), () => nowMs)
  return watchExpiry(deps, nowMs)
}

/** The upstream lists of the account that `work` caused. */
async function upstreamLists(work: () => Promise<unknown>): Promise<number> {
  await emulator.clearRequests()
  await work()
  const lists = (await emulator.requests()).filter(
    (r) => r.method === 'GET' && r.path === `/client/v4/accounts/${ACCOUNT}/mtls_certificates`,
  )
  return lists.length
}

/** A payments certificate, uploaded through the gateway, expiring `days` from now. */
async function expiringIn(days: number): Promise<{ id: string; expiresMs: number }> {
  const notAfter = new Date(Date.now() + days * DAY)
  const made = await makeCertificate({ ca: false, notAfter })
  const id = await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
  return { id, expiresMs: Math.floor(notAfter.getTime() / 1000) * 1000 }
}

const forCertificate = (id: string) => (d: Delivery) => d.body.includes(id)

/** The receiver's check, written independently of the gateway's signer. */
async function signatureHolds(d: Delivery): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(SECRET_BYTES),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  )
  const [version, signature] = d.headers['webhook-signature']!.split(',')
  const signed = `${d.headers['webhook-id']}.${d.headers['webhook-timestamp']}.${d.body}`
  const mac = Uint8Array.from(atob(signature!), (c) => c.charCodeAt(0))
  return (
    version === 'v1' && crypto.subtle.verify('HMAC', key, mac, new TextEncoder().encode(signed))
  )
}

const lifecycleEntries = async (id: string): Promise<AuditEntry[]> =>
  (await auditEntries())
    .filter((e) => e.lifecycle?.certificate_id === id)
    .sort((a, b) => a.seq! - b.seq!)

beforeEach(() => emulator.reset())

describe('expiry watch', () => {
  it('sends one signed notice at 14 days, once across two overlapping runs, on the chain', async () => {
    const { id, expiresMs } = await expiringIn(10)
    const now = Date.now()
    const reports = await Promise.all([run(now), run(now)])
    expect(reports.map((r) => r.problems)).toEqual([[], []])
    expect(reports.reduce((n, r) => n + r.queued, 0)).toBe(1)

    const sent = (await emulator.deliveries()).filter(forCertificate(id))
    expect(sent).toHaveLength(1)
    const [notice] = sent
    expect(notice!.name).toBe('payments')
    expect(await signatureHolds(notice!)).toBe(true)
    expect(await signatureHolds({ ...notice!, body: notice!.body.replace('14d', '7d') })).toBe(
      false,
    )
    const body = JSON.parse(notice!.body) as { type: string; data: Record<string, unknown> }
    expect(body.type).toBe('certificate.expiring')
    expect(body.data).toMatchObject({ team: 'payments', certificate_id: id, horizon: '14d' })
    expect(body.data.expires_on).toBe(new Date(expiresMs).toISOString().replace('.000', ''))

    // A third run, later the same day, sends nothing more.
    await run(now + 3_600_000)
    expect((await emulator.deliveries()).filter(forCertificate(id))).toHaveLength(1)

    const entries = await lifecycleEntries(id)
    expect(entries.map((e) => [e.kind, e.lifecycle!.horizon, e.lifecycle!.delivery])).toEqual([
      ['notice', '14d', 'delivered'],
    ])
    expect(entries[0]).toMatchObject({ member: '_gateway', via: 'system', team: 'payments' })
    expect(entries[0]!.lifecycle!.notice_id).toBe(notice!.headers['webhook-id'])
    expect(entries[0]!.chain).toBeDefined()
    expect(JSON.stringify(entries)).not.toContain(WHSEC.slice(6))
  })

  it('reads the account snapshot: one list when it is cold, none while it is fresh', async () => {
    const { id } = await expiringIn(10)
    const now = Date.now()
    const snapshot = { max_age_seconds: 60 }
    expect(await upstreamLists(() => run(now, snapshot))).toBe(1)
    expect(await upstreamLists(() => run(now + 1_000, snapshot))).toBe(0)
    expect((await emulator.deliveries()).filter(forCertificate(id))).toHaveLength(1)
  })

  it('retries after a 500 under the same webhook-id, once the backoff has passed', async () => {
    const { id } = await expiringIn(10)
    await emulator.failDeliveries(500, 1)
    const now = Date.now()
    expect((await run(now)).retrying).toBe(1)
    expect((await run(now + 1_000)).delivered).toBe(0)
    expect((await run(now + backoffMs(1) + 1_000)).delivered).toBe(1)
    const sent = (await emulator.deliveries()).filter(forCertificate(id))
    expect(sent.map((d) => d.status)).toEqual([500, 200])
    expect(sent[0]!.headers['webhook-id']).toBe(sent[1]!.headers['webhook-id'])
    // Each attempt is an entry: the failure (why, and when the next is due), then the delivery.
    const entries = await lifecycleEntries(id)
    expect(entries.map((e) => [e.lifecycle!.delivery, e.lifecycle!.attempts])).toEqual([
      ['failed', 1],
      ['delivered', 2],
    ])
    expect(entries[0]!.lifecycle).toMatchObject({
      reason: 'status 500',
      next_attempt_at: new Date(now + backoffMs(1)).toISOString(),
      notice_id: sent[0]!.headers['webhook-id'],
    })
    expect(entries[1]!.lifecycle!.reason).toBeUndefined()
  })

  it('escalates to the team, then the platform, when horizons pass unacknowledged', async () => {
    const { id, expiresMs } = await expiringIn(10)
    await run(Date.now())
    await run(expiresMs - 6 * DAY) // the 7-day horizon: a notice, and the team's escalation
    let sent = (await emulator.deliveries()).filter(forCertificate(id))
    expect(sent.map((d) => d.name)).toEqual(['payments', 'payments', 'payments-oncall'])
    const slack = JSON.parse(sent[2]!.body) as { text: string; blocks: unknown[] }
    expect(slack.text).toContain('Escalation')
    expect(slack.blocks).toHaveLength(1)
    await run(expiresMs - DAY / 2) // the 1-day horizon: the platform hears of it too
    sent = (await emulator.deliveries()).filter(forCertificate(id))
    expect(sent.map((d) => d.name).slice(3)).toEqual(['payments', 'payments-oncall', 'platform'])
    const kinds = (await lifecycleEntries(id)).map((e) => [
      e.kind,
      e.lifecycle!.horizon,
      e.lifecycle!.channel,
    ])
    expect(kinds).toEqual([
      ['notice', '14d', 'payments-hook'],
      ['notice', '7d', 'payments-hook'],
      ['escalation', '7d', 'payments-oncall'],
      ['notice', '1d', 'payments-hook'],
      ['escalation', '1d', 'payments-oncall'],
      ['escalation', '1d', 'platform-hook'],
    ])
  })

  it('keeps a notice it cannot deliver as dead, after its attempts, and records it', async () => {
    const { id } = await expiringIn(10)
    await emulator.failDeliveries(503, 100)
    let now = Date.now()
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await run(now)
      now += backoffMs(attempt) + 1_000
    }
    await run(now)
    expect((await emulator.deliveries()).filter(forCertificate(id))).toHaveLength(MAX_ATTEMPTS)
    const entries = await lifecycleEntries(id)
    expect(entries.map((e) => [e.lifecycle!.delivery, e.lifecycle!.attempts])).toEqual([
      ...Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => ['failed', i + 1]),
      ['undeliverable', MAX_ATTEMPTS],
    ])
    expect(entries.at(-1)!.lifecycle).toMatchObject({ reason: 'status 503' })
    expect(entries.at(-1)!.lifecycle!.next_attempt_at).toBeUndefined()
  })
})

describe('what expires, and acknowledgements', () => {
  const expiringFor = async (key: string, within = '30d') =>
    (await callJson<Expiring[]>(`${GATEWAY}/expiring?within=${within}`, { key })).body
  const ack = (id: string, horizon: string, key: string) =>
    callJson(`${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/acknowledge`, {
      method: 'POST',
      key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ horizon }),
    })

  it("lists a team's own expiring certificates, and every team's for an admin", async () => {
    const payments = await expiringIn(10)
    const notAfter = new Date(Date.now() + 20 * DAY)
    const made = await makeCertificate({ ca: false, notAfter })
    const identity = await uploadedId({ certificates: made.pem }, { key: KEYS.carol })
    await run(Date.now())

    const alice = await expiringFor(KEYS.alice)
    expect(alice.success).toBe(true)
    const mine = alice.result!.filter((c) => c.id === payments.id || c.id === identity)
    expect(mine.map((c) => [c.id, c.team, c.horizon, c.days_left])).toEqual([
      [payments.id, 'payments', '14d', 9],
    ])
    expect(mine[0]!.notices).toEqual([
      { horizon: '14d', channel: 'payments-hook', kind: 'notice', state: 'delivered', attempts: 1 },
    ])
    const admin = (await expiringFor(KEYS.admin)).result!.map((c) => c.id)
    expect(admin.indexOf(payments.id)).toBeLessThan(admin.indexOf(identity))
    expect(admin).toContain(identity)
    expect((await expiringFor(KEYS.admin, '5d')).result!.map((c) => c.id)).not.toContain(identity)
    expect((await callJson(`${GATEWAY}/expiring?within=soon`, { key: KEYS.alice })).status).toBe(
      400,
    )
  })

  it('records an acknowledgement, which stops the escalation of that notice', async () => {
    const { id, expiresMs } = await expiringIn(10)
    const early = await ack(id, '14d', KEYS.alice)
    expect([early.status, early.body.errors[0]?.code]).toEqual([404, 18390])
    await run(Date.now())
    const other = await ack(id, '14d', KEYS.carol)
    expect(other.status).toBe(404)
    const done = await ack(id, '14d', KEYS.alice)
    expect([done.status, done.body.result]).toEqual([
      200,
      { certificate_id: id, horizon: '14d', first: true },
    ])
    expect((await ack(id, '14d', KEYS.bob)).body.result).toMatchObject({ first: false })

    await run(expiresMs - 6 * DAY)
    const sent = (await emulator.deliveries()).filter(forCertificate(id))
    expect(sent.map((d) => d.name)).toEqual(['payments', 'payments'])
    const entries = await lifecycleEntries(id)
    expect(entries.map((e) => [e.kind, e.member, e.lifecycle!.horizon])).toEqual([
      ['notice', '_gateway', '14d'],
      ['acknowledgement', 'alice', '14d'],
      ['acknowledgement', 'bob', '14d'],
      ['notice', '_gateway', '7d'],
    ])
  })
})

interface Expiring {
  id: string
  team: string | null
  horizon: string | null
  days_left: number
  notices: unknown[]
}
