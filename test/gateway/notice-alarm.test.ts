/**
 * Issue 23, retries that do not wait for the cron: a notice whose delivery failed is retried on the
 * account coordinator's alarm, set at the retry's due time (coordinator/notice-alarm.ts), through
 * the Worker's sender with the Durable Object's own env. The receiver answers 500, then 200: the
 * notice is delivered once, on the alarm's retry, under the same webhook-id, and its entry on the
 * chain says so. Without LIFECYCLE_CHANNELS in that env the alarm is never armed (the cron alone
 * settles notices, and nothing can ring in a loop).
 *
 * The clock is faked (kit/clock.ts) so that the alarm, run at once by `runDurableObjectAlarm`, finds
 * the retry due; nothing here times anything.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { backoffMs } from '../../src/coordinator/notices'
import { expiryWatchDeps } from '../../src/lifecycle/expiry-cron'
import { watchExpiry } from '../../src/lifecycle/watch'
import { makeCertificate } from '../kit/certificates'
import { fakeClock, type FakeClock } from '../kit/clock'
import { auditEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'

const DAY = 86_400_000
const SECRET_BYTES = 'lifecycle-test-webhook-secret-32b'
const CHANNELS = JSON.stringify({
  'payments-hook': {
    kind: 'webhook',
    url: 'https://hooks.test/__receiver/payments',
    secret: `whsec_${btoa(SECRET_BYTES)}`,
  },
})

const account = () => env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT))

/** The account coordinator's own env, as `wrangler secret put LIFECYCLE_CHANNELS` would set it. */
async function coordinatorChannels(channels: string | undefined) {
  await runInDurableObject(account(), (instance) => {
    const holder = instance as unknown as { env: Env }
    holder.env = { ...holder.env, LIFECYCLE_CHANNELS: channels }
  })
}

const alarmAt = () => runInDurableObject(account(), (_i, state) => state.storage.getAlarm())

async function run(nowMs: number, lifecycle: Record<string, unknown> = {}) {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  policy.snapshot = { max_age_seconds: 0 }
  policy.lifecycle = { teams: { payments: { channels: ['payments-hook'] } }, ...lifecycle }
  const watchEnv = { ...env, POLICY: JSON.stringify(policy), LIFECYCLE_CHANNELS: CHANNELS }
  // Drift off: the emulator's reset between cases is an outside change (drift.test.ts).
  const { auditLog: _drift, ...deps } = expiryWatchDeps(watchEnv, () => nowMs)
  return watchExpiry(deps, nowMs)
}

async function signatureHolds(headers: Record<string, string>, body: string) {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(SECRET_BYTES),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  )
  const [version, signature] = headers['webhook-signature']!.split(',')
  const signed = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`
  const mac = Uint8Array.from(atob(signature!), (c) => c.charCodeAt(0))
  return (
    version === 'v1' && crypto.subtle.verify('HMAC', key, mac, new TextEncoder().encode(signed))
  )
}

let clock: FakeClock | undefined

beforeEach(() => emulator.reset())
afterEach(async () => {
  clock?.restore()
  clock = undefined
  await runInDurableObject(account(), (_i, state) => state.storage.deleteAlarm())
  await coordinatorChannels(undefined)
})

describe('notice retries on the coordinator alarm', () => {
  it('a receiver answering 500 then 200 gets the notice once more, on the alarm, and the chain says so', async () => {
    clock = fakeClock()
    await coordinatorChannels(CHANNELS)
    const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    const id = await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
    await emulator.failDeliveries(500, 1)

    const firstAt = clock.now()
    const first = await run(firstAt)
    expect(first).toMatchObject({ queued: 1, delivered: 0, retrying: 1, problems: [] })
    // The alarm waits for the retry's backoff, not for the next cron.
    expect(await alarmAt()).toBe(clock.now() + backoffMs(1))

    clock.advance(backoffMs(1))
    expect(await runDurableObjectAlarm(account())).toBe(true)

    const sent = (await emulator.deliveries()).filter((d) => d.body.includes(id))
    expect(sent.map((d) => [d.name, d.status])).toEqual([
      ['payments', 500],
      ['payments', 200],
    ])
    expect(sent[1]!.headers['webhook-id']).toBe(sent[0]!.headers['webhook-id'])
    expect(await signatureHolds(sent[1]!.headers, sent[1]!.body)).toBe(true)

    // Each attempt is its own entry on the chain: the failure, then the alarm's delivery.
    const entries = (await auditEntries())
      .filter((e) => e.lifecycle?.certificate_id === id)
      .sort((a, b) => a.seq! - b.seq!)
    expect(entries.map((e) => [e.kind, e.lifecycle!.delivery, e.lifecycle!.attempts])).toEqual([
      ['notice', 'failed', 1],
      ['notice', 'delivered', 2],
    ])
    expect(entries[0]!.lifecycle).toMatchObject({
      reason: 'status 500',
      next_attempt_at: new Date(firstAt + backoffMs(1)).toISOString(),
    })
    for (const entry of entries) {
      expect(entry.lifecycle!.notice_id).toBe(sent[1]!.headers['webhook-id'])
      expect(entry.chain).toBe(ACCOUNT)
      // Facts only: the channel's id, never its URL or its secret.
      expect(JSON.stringify(entry)).not.toContain('hooks.test')
      expect(JSON.stringify(entry)).not.toContain(btoa(SECRET_BYTES))
    }
    // Nothing pending: the alarm is not armed again.
    expect(await alarmAt()).toBeNull()

    // The next cron run sends nothing more.
    expect((await run(clock.now() + 1_000)).delivered).toBe(0)
    expect((await emulator.deliveries()).filter((d) => d.body.includes(id))).toHaveLength(2)
  })

  it("waits the policy's lifecycle.retry_base_seconds before the first retry, 4 times that before the next", async () => {
    clock = fakeClock()
    await coordinatorChannels(CHANNELS)
    const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
    await emulator.failDeliveries(500, 2)

    // Ten minutes, not the default minute (and far enough ahead that workerd's real-time alarm
    // cannot ring during the test: its clock is not the faked one).
    const policy = { retry_base_seconds: 600 }
    expect((await run(clock.now(), policy)).retrying).toBe(1)
    expect(await alarmAt()).toBe(clock.now() + 600_000)
    clock.advance(600_000)
    expect((await run(clock.now(), policy)).retrying).toBe(1)
    expect(await alarmAt()).toBe(clock.now() + 2_400_000)
  })

  it('is never armed where the coordinator cannot deliver (no LIFECYCLE_CHANNELS in its env)', async () => {
    const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
    await emulator.failDeliveries(500, 1)
    expect((await run(Date.now())).retrying).toBe(1)
    expect(await alarmAt()).toBeNull()
  })
})
