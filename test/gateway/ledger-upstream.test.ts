/**
 * The ledger follows the upstream (issue 19, item 5): a certificate deleted outside the gateway
 * gives its team's CA quota slot back as soon as an owned read or delete learns it is gone;
 * adoption never reaches back before the upload's intent; an admin's assign respects the CA
 * quota unless it overrides it, on the record.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { makeCertificate } from '../kit/certificates'
import { newEntries } from '../support/audit'
import { coordinatorFailing, resetLedger, storedIntents, storedOwner } from '../support/coordinator'
import { deleteOutside, emulator, seedWith } from '../support/emulator'
import {
  GATEWAY,
  callJson,
  certificateUrl,
  certificatesUrl,
  upload,
  uploadNew,
  uploadedId,
} from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { failing } from '../support/kv'
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

const QUOTA = { payments: 1, identity: 2, platform: 2 }

describe('a certificate deleted outside the gateway', () => {
  async function staleCa() {
    const env = await quotaEnv(QUOTA)
    const id = await uploadedId({ ca: true }, { key: KEYS.alice, env })
    await deleteOutside(id)
    // The stale owner record still holds payments' only slot.
    const refused = await uploadNew({ ca: true }, { key: KEYS.alice, env })
    expect(refused.body.errors[0]!.code).toBe(18310)
    return { env, id }
  }

  it("frees its team's slot when the admin's delete learns it is gone, on the record", async () => {
    const { env, id } = await staleCa()
    const entries = await newEntries(async () => {
      const deleted = await callJson(certificateUrl(id), { method: 'DELETE', env })
      expect([deleted.status, deleted.body.errors[0]!.code]).toEqual([404, 1472])
    })
    expect(await storedOwner(id)).toBeNull()
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'delete',
        certificate_id: id,
        released: { certificate_id: id, team: 'payments' },
        outcome: expect.objectContaining({ status: 404, error_codes: [1472] }),
      }),
    ])
    // The team uploads a new CA within its quota.
    expect((await uploadNew({ ca: true }, { key: KEYS.alice, env })).status).toBe(200)
  })

  it("frees it when the owning team's own get answers 404", async () => {
    const { env, id } = await staleCa()
    const get = await callJson(certificateUrl(id), { key: KEYS.alice, env })
    expect([get.status, get.body.errors[0]!.code]).toEqual([404, 1472])
    expect(await storedOwner(id)).toBeNull()
    expect((await uploadNew({ ca: true }, { key: KEYS.bob, env })).status).toBe(200)
  })

  it('frees it when its associations read answers 404', async () => {
    const { env, id } = await staleCa()
    const read = await callJson(`${certificateUrl(id)}/associations`, { key: KEYS.bob, env })
    expect([read.status, read.body.errors[0]!.code]).toEqual([404, 1472])
    expect(await storedOwner(id)).toBeNull()
  })

  it("frees it when the admin's assign finds it gone, and assigns nothing", async () => {
    const { env, id } = await staleCa()
    const assigned = await callJson(
      `${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/owner`,
      {
        method: 'PUT',
        env,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ team: 'identity' }),
      },
    )
    expect([assigned.status, assigned.body.errors[0]!.code]).toEqual([404, 1472])
    expect(await storedOwner(id)).toBeNull()
  })

  it("does not change the ledger when another team's read cannot see it", async () => {
    const { env, id } = await staleCa()
    const entries = await newEntries(async () => {
      expect((await callJson(certificateUrl(id), { key: KEYS.carol, env })).status).toBe(404)
    })
    expect(entries[0]!.released).toBeUndefined()
    expect(await storedOwner(id)).toMatchObject({ team: 'payments' })
  })

  it('keeps the owner when the upstream answers 404 with another code (not "no such certificate")', async () => {
    const id = await uploadedId({ ca: false }, { key: KEYS.alice })
    // A wrong base URL, a proxy: a 404 that says nothing about the certificate.
    await emulator.addFaults({ kind: 'status', status: 404, code: 7003, match: { method: 'GET' } })
    const get = await callJson(certificateUrl(id), { key: KEYS.alice })
    expect(get.status).toBe(404)
    expect(await storedOwner(id)).toMatchObject({ team: 'payments' })
  })

  it('keeps the owner when the release cannot be put on the audit record', async () => {
    const id = await uploadedId({ ca: false }, { key: KEYS.alice })
    await deleteOutside(id)
    const broken = { AUDIT: failing(env.AUDIT, { puts: () => true }) }
    expect((await callJson(certificateUrl(id), { key: KEYS.alice, env: broken })).status).toBe(404)
    expect(await storedOwner(id)).toMatchObject({ team: 'payments' })
    // The next request that meets it releases it.
    expect((await callJson(certificateUrl(id), { key: KEYS.alice })).status).toBe(404)
    expect(await storedOwner(id)).toBeNull()
  })
})

describe('adoption never reaches back before the intent', () => {
  it('does not adopt a certificate created outside the gateway 30 s before a failed upload of its PEM', async () => {
    const made = await makeCertificate({ ca: false })
    const id = await seedWith({
      ca: false,
      pem: made.pem,
      uploaded_on: new Date(Date.now() - 30_000).toISOString(),
    })
    await emulator.addFaults({ kind: 'status', status: 503, match: { method: 'POST' } })
    expect((await upload({ ca: false, certificates: made.pem }, { key: KEYS.carol })).status).toBe(
      502,
    )
    expect((await storedIntents()).map((i) => i.team)).toEqual(['identity'])
    const entries = await newEntries(() => callJson(certificatesUrl(), { key: KEYS.admin }))
    expect(entries.flatMap((e) => e.adopted ?? [])).toEqual([])
    expect(await storedOwner(id)).toBeNull()
    expect((await callJson(certificateUrl(id), { key: KEYS.carol })).status).toBe(404)
  })

  it('still adopts what the upload itself created', async () => {
    const ownerLost = { COORDINATOR: coordinatorFailing('confirmUpload') }
    const { id } = await uploadNew({}, { key: KEYS.carol, env: ownerLost })
    await callJson(certificatesUrl(), { key: KEYS.admin })
    expect(await storedOwner(id!)).toMatchObject({ team: 'identity', via: 'adopt' })
  })
})

describe('assign and the CA quota', () => {
  const assign = (id: string, body: Record<string, unknown>, env: Partial<Env>) =>
    callJson(`${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/owner`, {
      method: 'PUT',
      env,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  async function fullTeamAndUnownedCa() {
    const env = await quotaEnv(QUOTA)
    await uploadedId({ ca: true }, { key: KEYS.alice, env })
    const id = await seedWith({ ca: true, pem: (await makeCertificate({ ca: true })).pem })
    return { env, id }
  }

  it('refuses a CA that would take the team past its quota, naming the quota', async () => {
    const { env, id } = await fullTeamAndUnownedCa()
    const refused = await assign(id, { team: 'payments' }, env)
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([403, 18340])
    expect(refused.body.errors[0]!.message).toContain('its quota is 1')
    expect(refused.body.errors[0]!.message).toContain('override_quota')
    expect(refused.response.headers.get('x-should-retry')).toBe('false')
    expect(await storedOwner(id)).toBeNull()
    // Within quota, and leaves, assign as before.
    expect((await assign(id, { team: 'identity' }, env)).status).toBe(200)
    const leaf = await seedWith({ ca: false, pem: (await makeCertificate({ ca: false })).pem })
    expect((await assign(leaf, { team: 'payments' }, env)).status).toBe(200)
  })

  it('assigns past the quota with override_quota, and records the override', async () => {
    const { env, id } = await fullTeamAndUnownedCa()
    const entries = await newEntries(async () => {
      expect((await assign(id, { team: 'payments', override_quota: true }, env)).status).toBe(200)
    })
    expect(await storedOwner(id)).toMatchObject({ team: 'payments', via: 'assign' })
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'assign',
        assigned: { team: 'payments' },
        quota_override: { team: 'payments', quota: 1, held: 1 },
      }),
    ])
  })

  it('records no override when the quota had room', async () => {
    const env = await quotaEnv(QUOTA)
    const id = await seedWith({ ca: true, pem: (await makeCertificate({ ca: true })).pem })
    const entries = await newEntries(() =>
      assign(id, { team: 'payments', override_quota: true }, env),
    )
    expect(entries[0]!.quota_override).toBeUndefined()
    expect(await storedOwner(id)).toMatchObject({ team: 'payments' })
  })

  it('lets only one of two concurrent assigns take the last slot', async () => {
    const env = await quotaEnv(QUOTA)
    const [a, b] = await Promise.all(
      [0, 1].map(async () =>
        seedWith({ ca: true, pem: (await makeCertificate({ ca: true })).pem }),
      ),
    )
    const answers = await Promise.all([a!, b!].map((id) => assign(id, { team: 'payments' }, env)))
    expect(answers.map((r) => r.status).sort()).toEqual([200, 403])
  })

  it('refuses override_quota that is not a boolean', async () => {
    const { env, id } = await fullTeamAndUnownedCa()
    const bad = await assign(id, { team: 'payments', override_quota: 'yes' }, env)
    expect([bad.status, bad.body.errors[0]!.source?.pointer]).toEqual([400, '/override_quota'])
  })
})
