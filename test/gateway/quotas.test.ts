/**
 * The account's CA certificates shared out per team (policy `quotas`): a team over its quota is
 * refused before anything is forwarded, with its own code; uploads in flight count, so concurrent
 * uploads cannot both take the last slot; a delete frees a slot.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { parsePolicy } from '../../src/policy/document'
import { resetLedger, storedIntents } from '../support/coordinator'
import { emulator } from '../support/emulator'
import { callJson, certificateUrl, uploadNew, uploadedId } from '../support/gateway'
import { KEYS } from '../support/identities'
import { policyWith } from '../support/policies'

beforeEach(async () => {
  await emulator.reset()
  await resetLedger()
})

async function quotaEnv(caCertificates: Record<string, number>) {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  policy.quotas = { ca_certificates: caCertificates }
  return { POLICY: JSON.stringify(policy) }
}

const forwardedUploads = async () =>
  (await emulator.requests()).filter((r) => r.method === 'POST').length

describe('CA quotas per team', () => {
  it('refuses a CA upload past the quota with 403/18310, forwarding nothing', async () => {
    const env = await quotaEnv({ payments: 1, identity: 2, platform: 2 })
    await uploadedId({ ca: true }, { key: KEYS.alice, env })
    const before = await forwardedUploads()
    const refused = await uploadNew({ ca: true }, { key: KEYS.bob, env })
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([403, 18310])
    expect(refused.response.headers.get('x-should-retry')).toBe('false')
    expect(refused.body.errors[0]!.message).toContain('holds 1 CA certificates')
    expect(await forwardedUploads()).toBe(before)
    // Leaves are not counted, and other teams have their own quota.
    expect((await uploadNew({ ca: false }, { key: KEYS.alice, env })).status).toBe(200)
    expect((await uploadNew({ ca: true }, { key: KEYS.carol, env })).status).toBe(200)
    // The refused upload left no intent behind to hold a slot.
    expect((await storedIntents()).filter((i) => i.team === 'payments')).toEqual([])
  })

  it('gives a team the policy does not name no CA certificate at all', async () => {
    const env = await quotaEnv({ payments: 2 })
    const refused = await uploadNew({ ca: true }, { key: KEYS.carol, env })
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([403, 18310])
  })

  it('lets only one of two concurrent uploads take the last slot', async () => {
    const env = await quotaEnv({ payments: 1, identity: 2, platform: 2 })
    const [a, b] = await Promise.all([
      uploadNew({ ca: true }, { key: KEYS.alice, env }),
      uploadNew({ ca: true }, { key: KEYS.bob, env }),
    ])
    expect([a.status, b.status].sort()).toEqual([200, 403])
    expect(await forwardedUploads()).toBe(1)
  })

  it('counts an upload whose outcome is unknown until it is resolved', async () => {
    const env = await quotaEnv({ payments: 1, identity: 2, platform: 2 })
    await emulator.addFaults({ kind: 'status', status: 503, match: { method: 'POST' } })
    expect((await uploadNew({ ca: true }, { key: KEYS.alice, env })).status).toBe(502)
    // It may exist: its intent holds the slot (and lets a later list adopt it).
    const refused = await uploadNew({ ca: true }, { key: KEYS.bob, env })
    expect(refused.body.errors[0]!.code).toBe(18310)
  })

  it('frees the slot when the team deletes one of its CA certificates', async () => {
    const env = await quotaEnv({ payments: 1, identity: 2, platform: 2 })
    const id = await uploadedId({ ca: true }, { key: KEYS.alice, env })
    expect((await uploadNew({ ca: true }, { key: KEYS.alice, env })).status).toBe(403)
    // A CA's delete by a lead awaits an admin; the admin deletes it directly.
    const deleted = await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.admin, env })
    expect(deleted.status).toBe(200)
    expect((await uploadNew({ ca: true }, { key: KEYS.alice, env })).status).toBe(200)
  })
})

describe('the quota document', () => {
  const base = async () => JSON.parse(await policyWith()) as Record<string, unknown>

  it('refuses quotas that promise an account more CA certificates than it holds', async () => {
    const policy = { ...(await base()), quotas: { ca_certificates: { payments: 3, identity: 3 } } }
    const parsed = parsePolicy(JSON.stringify(policy))
    expect(parsed.ok).toBe(false)
    expect(!parsed.ok && parsed.problems).toEqual([
      expect.objectContaining({
        pointer: '/quotas/ca_certificates',
        message: expect.stringContaining('promises 6 CA certificates in account'),
      }),
    ])
  })

  it('refuses a quota for a team that does not exist', async () => {
    const policy = { ...(await base()), quotas: { ca_certificates: { ghosts: 1 } } }
    const parsed = parsePolicy(JSON.stringify(policy))
    expect(!parsed.ok && parsed.problems.map((p) => p.pointer)).toEqual([
      '/quotas/ca_certificates/ghosts',
    ])
  })

  it('refuses team budgets that do not fit in the cap', async () => {
    const policy = {
      ...(await base()),
      budget: { upstream_requests: 100, teams: { payments: { requests: 90 } } },
    }
    const parsed = parsePolicy(JSON.stringify(policy))
    expect(!parsed.ok && parsed.problems).toEqual([
      expect.objectContaining({
        pointer: '/budget/teams',
        message: "the teams' requests (90) exceed cap minus reserve (81)",
      }),
    ])
  })
})
