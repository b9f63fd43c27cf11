/**
 * Issue 23, where undeliverable notices wait: a notice that failed its last attempt is `dead`,
 * listed by `GET /gateway/v1/notices` (account-wide roles: the auditor and the admin, never a
 * team's member), and re-queued by an admin (`POST .../notices/{id}/requeue`): on record first,
 * then pending, due now, under the same id, and delivered by the next run. A second re-queue of it
 * is 404 / 18393. No channel URL or secret in either answer.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { backoffMs, MAX_ATTEMPTS } from '../../src/coordinator/notices'
import { expiryWatchDeps } from '../../src/lifecycle/expiry-cron'
import { watchExpiry } from '../../src/lifecycle/watch'
import { makeCertificate } from '../kit/certificates'
import { auditEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { GATEWAY, callJson, uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'

const DAY = 86_400_000
const URL_OF_HOOK = 'https://hooks.test/__receiver/payments'
const CHANNELS = JSON.stringify({ 'payments-slack': { kind: 'slack', url: URL_OF_HOOK } })

async function run(nowMs: number) {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  policy.snapshot = { max_age_seconds: 0 }
  policy.lifecycle = { teams: { payments: { channels: ['payments-slack'] } } }
  const watchEnv = { ...env, POLICY: JSON.stringify(policy), LIFECYCLE_CHANNELS: CHANNELS }
  // Drift off: the emulator's reset between cases is an outside change (drift.test.ts).
  const { auditLog: _drift, ...deps } = expiryWatchDeps(watchEnv, () => nowMs)
  return watchExpiry(deps, nowMs)
}

interface Listed {
  account_id: string
  id: string
  certificate_id: string
  channel: string
  state: string
  attempts: number
  last_reason: string | null
}

const listAs = (key: string, state = 'dead') =>
  callJson<Listed[]>(`${GATEWAY}/notices?state=${state}`, { key })
const requeueAs = (key: string, id: string) =>
  callJson<{ id: string; state: string }>(`${GATEWAY}/accounts/${ACCOUNT}/notices/${id}/requeue`, {
    key,
    method: 'POST',
  })

beforeEach(() => emulator.reset())

describe('dead notices', () => {
  it('are listed for account-wide roles and re-queued by an admin, on record, then delivered', async () => {
    const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    const id = await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
    await emulator.failDeliveries(503, MAX_ATTEMPTS)
    let now = Date.now()
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await run(now)
      now += backoffMs(attempt) + 1_000
    }

    const listed = await listAs(KEYS.auditor)
    expect(listed.status).toBe(200)
    const dead = listed.body.result!.filter((n) => n.certificate_id === id)
    expect(dead).toEqual([
      expect.objectContaining({
        account_id: ACCOUNT,
        channel: 'payments-slack',
        state: 'dead',
        attempts: MAX_ATTEMPTS,
        last_reason: 'status 503',
      }),
    ])
    expect(JSON.stringify(listed.body)).not.toContain(URL_OF_HOOK)
    // A team's member sees no other team's broken channels, and cannot re-queue.
    expect((await listAs(KEYS.alice)).status).toBe(403)
    expect((await requeueAs(KEYS.alice, dead[0]!.id)).status).toBe(403)
    // Reading is not changing: the auditor cannot re-queue either.
    expect((await requeueAs(KEYS.auditor, dead[0]!.id)).status).toBe(403)

    const requeued = await requeueAs(KEYS.admin, dead[0]!.id)
    expect(requeued.status).toBe(200)
    expect(requeued.body.result).toEqual({ id: dead[0]!.id, state: 'pending' })
    const entry = (await auditEntries()).find(
      (e) => e.action === 'requeue' && e.certificate_id === id,
    )
    expect(entry).toMatchObject({ member: 'admin', outcome: { class: 'allowed' } })
    expect((await listAs(KEYS.admin)).body.result!.filter((n) => n.certificate_id === id)).toEqual(
      [],
    )
    const pending = (await listAs(KEYS.admin, 'pending')).body.result!
    expect(pending.filter((n) => n.certificate_id === id).map((n) => n.attempts)).toEqual([0])

    // Once again: it is no longer dead.
    const again = await requeueAs(KEYS.admin, dead[0]!.id)
    expect(again.status).toBe(404)
    expect(again.body.errors[0]!.code).toBe(18393)

    // The next run delivers it, under the same id.
    expect((await run(now)).delivered).toBe(1)
    const sent = (await emulator.deliveries()).filter((d) => d.body.includes(id))
    expect(sent.map((d) => d.status)).toEqual([...Array(MAX_ATTEMPTS).fill(503), 200])
  })
})
