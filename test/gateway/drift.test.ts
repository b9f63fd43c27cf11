/**
 * Issue 23, drift: an upload and a delete made straight at the emulator by another token and in
 * the dashboard appear in the audit chain within one refresh (one run of the watch), attributed to
 * who made them from one page of the account's audit log; the gateway's own changes are not drift;
 * the owning team (or the platform) is told.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { driftBetween } from '../../src/lifecycle/drift'
import { expiryWatchDeps } from '../../src/lifecycle/expiry-cron'
import { watchExpiry } from '../../src/lifecycle/watch'
import { makeCertificate } from '../kit/certificates'
import { auditEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'

beforeEach(() => emulator.reset())

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
