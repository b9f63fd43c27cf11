/**
 * Issue 23, drift: an upload and a delete made straight at the emulator by another token and in
 * the dashboard appear in the audit chain within one refresh (one run of the watch), attributed to
 * who made them from one page of the account's audit log; the gateway's own changes are not drift;
 * the owning team (or the platform) is told.
 */
import { env, runInDurableObject } from 'cloudflare:test'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { configFor } from '../../src/config'
import { opened } from '../../src/coordinator/index'
import { SYSTEM_PRINCIPAL, scopeFor } from '../../src/kernel/scope-for'
import { uuidv7 } from '../../src/lib/uuidv7'
import { driftBetween } from '../../src/lifecycle/drift'
import { expiryWatchDeps } from '../../src/lifecycle/expiry-cron'
import { watchExpiry } from '../../src/lifecycle/watch'
import { makeCertificate } from '../kit/certificates'
import { auditEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { fakeClock, type FakeClock } from '../kit/clock'
import { resetLedger } from '../support/coordinator'
import { callJson, certificatesUrl, uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'

beforeEach(() => emulator.reset())

const DAY = 86_400_000

async function run() {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  policy.lifecycle = {
    platform_channels: ['platform'],
    teams: { payments: { channels: ['payments'] } },
  }
  const watchEnv = {
    ...env,
    POLICY: JSON.stringify(policy),
    LIFECYCLE_CHANNELS: JSON.stringify({
      payments: { kind: 'slack', url: 'https://hooks.test/__receiver/payments' },
      platform: { kind: 'slack', url: 'https://hooks.test/__receiver/platform' },
    }),
  }
  const now = Date.now()
  return watchExpiry(
    expiryWatchDeps(watchEnv, () => now),
    now,
  )
}

const auditLogCalls = async () =>
  (await emulator.requests()).filter((r) => r.path.endsWith('/logs/audit')).length

describe('drift', () => {
  it('is pure: appeared unowned, vanished owned; the rest is not drift', () => {
    const list = (ids: string[], at: number) => ({
      fetchedAtMs: at,
      certificates: ids.map((id) => ({ id })),
    })
    const owners = new Map([
      ['b', 'payments'],
      ['d', 'identity'],
    ])
    const found = driftBetween(list(['a', 'b', 'e'], 1), list(['b', 'c', 'd'], 2), { owners })
    expect(found.map((d) => [d.certificate_id, d.change, d.team])).toEqual([
      ['c', 'appeared', null],
    ])
    const gone = driftBetween(list(['b', 'x'], 1), list([], 2), { owners })
    expect(gone.map((d) => [d.certificate_id, d.change, d.team])).toEqual([
      ['b', 'vanished', 'payments'],
    ])
    expect(driftBetween(undefined, list(['c'], 2), { owners })).toEqual([])
  })

  it('drops drift claims older than 90 days, recorded or abandoned, at the next run', async () => {
    const instance = env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT))
    const now = Date.now()
    const claim = (id: string, change: 'appeared' | 'vanished') => ({ certificate_id: id, change })
    await runInDurableObject(instance, (_c, state) => {
      const notices = opened(state, {}, 'notices')
      // Recorded 91 days ago, recorded 89 days ago, and claimed 91 days ago by a holder that died.
      notices.claimDrift([claim('old-recorded', 'appeared')], now - 91 * DAY)
      notices.settleDrift([claim('old-recorded', 'appeared')], now - 91 * DAY)
      notices.claimDrift([claim('recent', 'vanished')], now - 89 * DAY)
      notices.settleDrift([claim('recent', 'vanished')], now - 89 * DAY)
      notices.claimDrift([claim('old-abandoned', 'vanished')], now - 91 * DAY)
    })
    expect((await run()).problems).toEqual([])
    const left = await runInDurableObject(instance, (_c, state) =>
      state.storage.sql
        .exec<{ certificate_id: string }>('SELECT certificate_id FROM lifecycle_drift')
        .toArray()
        .map((row) => row.certificate_id),
    )
    const seeded = ['old-recorded', 'recent', 'old-abandoned']
    expect(left.filter((id) => seeded.includes(id))).toEqual(['recent'])
  })

  it('records outside changes attributed to their actor, within one refresh, for one audit-log page', async () => {
    const owned = await uploadedId({}, { key: KEYS.alice })
    await run() // the baseline
    const mine = await uploadedId({}, { key: KEYS.alice }) // through the gateway: not drift
    const outside = await makeCertificate({ ca: false })
    const theirs = await emulator.outsideUpload(
      ACCOUNT,
      { context: 'api_token', token_id: 'tf-01', token_name: 'terraform-prod' },
      { ca: false, certificates: outside.pem },
    )
    await emulator.outsideDelete(ACCOUNT, { context: 'dash', email: 'eve@example.com' }, owned)
    await emulator.clearRequests()

    const report = await run()
    expect(report.problems).toEqual([])
    expect(report.drifted).toBe(2)
    expect(await auditLogCalls()).toBe(1)

    const drift = (await auditEntries()).filter((e) => e.kind === 'drift')
    const of = (id: string) => drift.filter((e) => e.lifecycle!.certificate_id === id)
    expect(of(mine)).toEqual([])
    expect(of(theirs.certificate.id).map((e) => [e.lifecycle!.horizon, e.team])).toEqual([
      ['appeared', undefined],
    ])
    expect(of(theirs.certificate.id)[0]!.lifecycle!.actor).toMatchObject({
      context: 'api_token',
      token_id: 'tf-01',
      token_name: 'terraform-prod',
    })
    expect(of(owned).map((e) => [e.lifecycle!.horizon, e.team])).toEqual([['vanished', 'payments']])
    expect(of(owned)[0]!.lifecycle!.actor).toMatchObject({
      context: 'dash',
      email: 'eve@example.com',
    })
    expect(of(owned)[0]!.chain).toBe(ACCOUNT)

    const told = await emulator.deliveries()
    expect(told.filter((d) => d.body.includes(owned)).map((d) => d.name)).toEqual(['payments'])
    expect(told.filter((d) => d.body.includes(theirs.certificate.id)).map((d) => d.name)).toEqual([
      'platform',
    ])
    expect(told.find((d) => d.body.includes(owned))!.body).toContain('eve@example.com')

    // A refresh that finds nothing new spends no audit-log page and records nothing more.
    await emulator.clearRequests()
    expect((await run()).drifted).toBe(0)
    expect(await auditLogCalls()).toBe(0)
  })
})

describe('drift on each snapshot refresh', () => {
  const MAX_AGE_S = 30
  let clock: FakeClock | undefined
  let on: Env

  beforeEach(async () => {
    await resetLedger()
    await runInDurableObject(env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT)), (_c, s) =>
      opened(s, {}, 'snapshot').forget(),
    )
    const policy = JSON.parse(await policyWith()) as Record<string, unknown>
    policy.snapshot = { max_age_seconds: MAX_AGE_S }
    policy.lifecycle = {
      platform_channels: ['platform'],
      teams: { payments: { channels: ['payments'] } },
    }
    on = {
      ...env,
      POLICY: JSON.stringify(policy),
      LIFECYCLE_CHANNELS: JSON.stringify({
        payments: { kind: 'slack', url: 'https://hooks.test/__receiver/payments' },
        platform: { kind: 'slack', url: 'https://hooks.test/__receiver/platform' },
      }),
    }
  })
  afterEach(() => {
    clock?.restore()
    clock = undefined
  })

  const list = () => callJson<{ id: string }[]>(certificatesUrl(), { key: KEYS.alice, env: on })

  it('an outside upload and delete are attributed entries after the next refresh, one audit-log page', async () => {
    clock = fakeClock()
    const owned = await uploadedId({}, { key: KEYS.alice, env: on })
    expect((await list()).status).toBe(200) // the cold snapshot: the baseline, no drift
    const mine = await uploadedId({}, { key: KEYS.alice, env: on }) // written through: not drift
    const outside = await makeCertificate({ ca: false })
    const theirs = await emulator.outsideUpload(
      ACCOUNT,
      { context: 'api_token', token_id: 'tf-01', token_name: 'terraform-prod' },
      { ca: false, certificates: outside.pem },
    )
    await emulator.outsideDelete(ACCOUNT, { context: 'dash', email: 'eve@example.com' }, owned)
    const ours = new Set([owned, mine, theirs.certificate.id])
    const driftEntries = async () =>
      (await auditEntries()).filter(
        (e) => e.kind === 'drift' && ours.has(e.lifecycle!.certificate_id),
      )
    // Still fresh: nothing refreshed, nothing known yet.
    await list()
    expect(await driftEntries()).toEqual([])

    clock.advance(MAX_AGE_S * 1000 + 1_000)
    await emulator.clearRequests()
    const listed = await list() // stale: this reader refreshes, drift is recorded before it is answered
    expect(listed.response.headers.get('cache-status')).toMatch(/fwd=stale; stored/)
    expect(await auditLogCalls()).toBe(1)

    const drift = await driftEntries()
    const of = (id: string) => drift.filter((e) => e.lifecycle!.certificate_id === id)
    expect(of(mine)).toEqual([])
    expect(of(theirs.certificate.id).map((e) => [e.lifecycle!.horizon, e.team])).toEqual([
      ['appeared', undefined],
    ])
    expect(of(theirs.certificate.id)[0]!.lifecycle!.actor).toMatchObject({
      context: 'api_token',
      token_id: 'tf-01',
      token_name: 'terraform-prod',
    })
    expect(of(owned).map((e) => [e.lifecycle!.horizon, e.team, e.via])).toEqual([
      ['vanished', 'payments', 'system'],
    ])
    expect(of(owned)[0]!.lifecycle!.actor).toMatchObject({
      context: 'dash',
      email: 'eve@example.com',
    })
    // The entry names the request whose read refreshed the snapshot.
    expect(of(owned)[0]!.request_id).toBe(listed.response.headers.get('x-request-id'))

    // The watch after it: the changes are not granted twice; the owning team and the platform
    // are told through their channels.
    const now = Date.now()
    const report = await watchExpiry(
      expiryWatchDeps(on, () => now),
      now,
    )
    expect(report.problems).toEqual([])
    expect(report.drifted).toBe(0)
    const told = await emulator.deliveries()
    expect(told.filter((d) => d.body.includes(owned)).map((d) => d.name)).toEqual(['payments'])
    expect(told.filter((d) => d.body.includes(theirs.certificate.id)).map((d) => d.name)).toEqual([
      'platform',
    ])
    expect(await driftEntries()).toHaveLength(2)

    // The next refresh finds nothing new: no audit-log page, no entry.
    clock.advance(MAX_AGE_S * 1000 + 1_000)
    await emulator.clearRequests()
    await list()
    expect(await auditLogCalls()).toBe(0)
    expect(await driftEntries()).toHaveLength(2)
  })

  it('two refreshes that see the same change at once record it once (the coordinator grants it)', async () => {
    const owned = await uploadedId({}, { key: KEYS.alice, env: on })
    const scope = () =>
      scopeFor({ env: on, config: configFor(on), principal: SYSTEM_PRINCIPAL, requestId: uuidv7() })
    const cert = { id: owned, expires_on: '2030-01-01T00:00:00Z' }
    const before = { fetchedAtMs: Date.now() - 60_000, certificates: [cert] }
    const after = { fetchedAtMs: Date.now(), certificates: [] }
    await emulator.outsideDelete(ACCOUNT, { context: 'dash', email: 'eve@example.com' }, owned)
    await emulator.clearRequests()
    const [a, b] = [scope(), scope()]
    await Promise.all([
      a.snapshot!.refreshed!(ACCOUNT, before, after),
      b.snapshot!.refreshed!(ACCOUNT, before, after),
    ])
    const drift = (await auditEntries()).filter(
      (e) => e.kind === 'drift' && e.lifecycle!.certificate_id === owned,
    )
    expect(drift.map((e) => e.lifecycle!.horizon)).toEqual(['vanished'])
    expect(await auditLogCalls()).toBe(1)
  })
})
