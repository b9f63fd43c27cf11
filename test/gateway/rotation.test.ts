/**
 * Issue 23, rotation pairing: once a team names a successor, the old certificate's delete is
 * refused (409/18391, nothing sent upstream) until the successor is in use by every service the
 * old one served; then it goes through. A certificate with a ready successor is handled for the
 * expiry watch: no notice.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { expiryWatchDeps } from '../../src/lifecycle/expiry-cron'
import { watchExpiry } from '../../src/lifecycle/watch'
import { makeCertificate } from '../kit/certificates'
import { emulator } from '../support/emulator'
import { callJson, certificateUrl, GATEWAY, uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'

const DAY = 86_400_000
const GATEWAY_SERVICE = [{ service: 'gateway', status: 'active' }]

beforeEach(() => emulator.reset())

const nameSuccessor = (id: string, successorId: string, key = KEYS.alice) =>
  callJson<{ ready: boolean; problem: string | null; services: string[] }>(
    `${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/successor`,
    {
      method: 'PUT',
      key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ successor_id: successorId }),
    },
  )
const remove = (id: string) => callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
const deletesOf = async (id: string) =>
  (await emulator.requests()).filter((r) => r.method === 'DELETE' && r.path.endsWith(id))

describe('rotation pairing', () => {
  it('refuses the old one’s delete until the successor serves what it served, then allows it', async () => {
    const old = await uploadedId({}, { key: KEYS.alice })
    const next = await uploadedId({}, { key: KEYS.alice })
    await emulator.setAssociations(old, GATEWAY_SERVICE)
    const named = await nameSuccessor(old, next)
    expect(named.status).toBe(200)
    expect(named.body.result).toMatchObject({ services: ['gateway'], ready: false })
    expect(named.body.result!.problem).toContain('not yet in use by gateway')

    await emulator.setAssociations(old, [])
    const refused = await remove(old)
    expect([refused.status, refused.body.errors[0]?.code]).toEqual([409, 18391])
    expect(refused.response.headers.get('x-should-retry')).toBe('false')
    expect(await deletesOf(old)).toEqual([])

    await emulator.setAssociations(next, GATEWAY_SERVICE)
    expect((await remove(old)).status).toBe(200)
    expect(await deletesOf(old)).toHaveLength(1)
  })

  it('parks the delete for an admin instead, when the policy says so; approved, it goes through', async () => {
    const policy = JSON.parse(await policyWith()) as Record<string, unknown>
    policy.lifecycle = { rotation: { gate: 'approval', approver_roles: ['admin'] } }
    const on = { POLICY: JSON.stringify(policy) }
    const old = await uploadedId({}, { key: KEYS.alice, env: on })
    const next = await uploadedId({}, { key: KEYS.alice, env: on })
    await emulator.setAssociations(old, GATEWAY_SERVICE)
    expect((await nameSuccessor(old, next)).body.result!.ready).toBe(false)
    await emulator.setAssociations(old, [])

    const parked = await callJson<null>(certificateUrl(old), {
      method: 'DELETE',
      key: KEYS.bob,
      env: on,
      headers: { prefer: 'respond-async' },
    })
    expect(parked.status).toBe(202)
    const approval = (parked.body as unknown as { approval: { id: string; roles: string[] } })
      .approval
    expect(approval.roles).toEqual(['admin'])
    expect(await deletesOf(old)).toEqual([])

    const approved = await callJson(`${GATEWAY}/approvals/${approval.id}/approve`, {
      method: 'POST',
      key: KEYS.admin,
      env: on,
    })
    expect(approved.status).toBe(200)
    expect(await deletesOf(old)).toHaveLength(1)
  })

  it('refuses a certificate as its own successor, and another team naming one', async () => {
    const old = await uploadedId({}, { key: KEYS.alice })
    const itself = await nameSuccessor(old, old)
    expect([itself.status, itself.body.errors[0]?.code]).toEqual([400, 18020])
    const next = await uploadedId({}, { key: KEYS.carol })
    expect((await nameSuccessor(old, next, KEYS.carol)).status).toBe(404)
    const unknown = await nameSuccessor(old, next) // identity's: alice cannot see it
    expect([unknown.status, unknown.body.errors[0]?.code]).toEqual([404, 18392])
  })

  it('counts a certificate with a ready successor as handled by the expiry watch', async () => {
    const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    const old = await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
    const next = await uploadedId({}, { key: KEYS.alice })
    expect((await nameSuccessor(old, next)).body.result!.ready).toBe(true)
    // The same expiry without a successor: it is notified, so the silence above is the pairing's.
    const alone = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    const unpaired = await uploadedId({ certificates: alone.pem }, { key: KEYS.alice })
    const report = await watchAt(Date.now())
    expect(report.problems).toEqual([])
    const sent = await emulator.deliveries()
    expect(sent.filter((d) => d.body.includes(old))).toEqual([])
    expect(sent.filter((d) => d.body.includes(unpaired))).toHaveLength(1)
  })
})

interface Readiness {
  ready: boolean
  reason: 'missing' | 'expired' | 'not_in_use' | null
  missing_services: string[]
  checked_at: string
  checked_by: 'watch' | 'delete' | 'named'
  age_seconds: number
}
interface Listed {
  id: string
  successor: {
    successor_id: string
    name?: string
    services: string[]
    check: Readiness | null
  } | null
}

/** The certificate's successor as `GET /expiring` shows it. */
async function listedSuccessor(id: string) {
  const { status, body } = await callJson<Listed[]>(`${GATEWAY}/expiring`, { key: KEYS.alice })
  expect(status).toBe(200)
  return body.result!.find((c) => c.id === id)?.successor
}

/** One run of the expiry watch at `nowMs`, with a payments channel. */
async function watchAt(nowMs: number) {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  policy.lifecycle = { teams: { payments: { channels: ['hook'] } } }
  const watchEnv = {
    ...env,
    POLICY: JSON.stringify(policy),
    LIFECYCLE_CHANNELS: JSON.stringify({
      hook: { kind: 'slack', url: 'https://hooks.test/__receiver/payments' },
    }),
  }
  return watchExpiry(
    expiryWatchDeps(watchEnv, () => nowMs),
    nowMs,
  )
}

describe("the successor's readiness in the expiring list", () => {
  it('shows what the naming, the gate at a delete and the watch found, and when, checking nothing itself', async () => {
    const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    const old = await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
    const next = await uploadedId({}, { key: KEYS.alice })
    await emulator.setAssociations(old, GATEWAY_SERVICE)
    const namedAt = Date.now()
    await nameSuccessor(old, next)

    // The naming's check: not in use by the one service the old one served.
    const named = await listedSuccessor(old)
    expect(named).toMatchObject({ successor_id: next, services: ['gateway'] })
    expect(named!.check).toMatchObject({
      ready: false,
      reason: 'not_in_use',
      missing_services: ['gateway'],
      checked_by: 'named',
    })
    expect(Date.parse(named!.check!.checked_at)).toBeGreaterThanOrEqual(namedAt - 1000)
    expect(named!.check!.age_seconds).toBeGreaterThanOrEqual(0)
    // Listing asked the upstream nothing about the successor (no get, no associations).
    const before = (await emulator.requests()).length
    await listedSuccessor(old)
    const asked = (await emulator.requests()).slice(before)
    expect(asked.filter((r) => r.path.includes(next))).toEqual([])

    // The gate at a refused delete keeps its own check.
    await emulator.setAssociations(old, [])
    expect((await remove(old)).status).toBe(409)
    expect((await listedSuccessor(old))!.check).toMatchObject({
      ready: false,
      reason: 'not_in_use',
      checked_by: 'delete',
    })

    // A watch run with an older clock does not overwrite the newer check...
    await watchAt(Date.now() - 60_000)
    expect((await listedSuccessor(old))!.check!.checked_by).toBe('delete')
    // ...a current one does: the successor now serves the gateway, so it is ready.
    await emulator.setAssociations(next, GATEWAY_SERVICE)
    const watchedAt = Date.now() + 1000
    expect((await watchAt(watchedAt)).problems).toEqual([])
    const watched = (await listedSuccessor(old))!.check!
    expect(watched).toMatchObject({
      ready: true,
      reason: null,
      missing_services: [],
      checked_by: 'watch',
      checked_at: new Date(watchedAt).toISOString(),
    })
  })

  it('says when the successor is gone; renaming replaces that check with the naming’s', async () => {
    const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    const old = await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
    const next = await uploadedId({}, { key: KEYS.alice })
    await nameSuccessor(old, next)
    expect((await listedSuccessor(old))!.check).toMatchObject({ ready: true, checked_by: 'named' })

    // The successor deleted (it has no successor of its own, so no gate stops it).
    expect((await remove(next)).status).toBe(200)
    await watchAt(Date.now() + 1000)
    expect((await listedSuccessor(old))!.check).toMatchObject({
      ready: false,
      reason: 'missing',
      checked_by: 'watch',
    })

    const other = await uploadedId({}, { key: KEYS.alice })
    await nameSuccessor(old, other)
    const renamed = await listedSuccessor(old)
    expect(renamed).toMatchObject({ successor_id: other })
    expect(renamed!.check).toMatchObject({ ready: true, checked_by: 'named' })
  })

  it('names the successor as a list shows it to the reader, and not one the reader may not see', async () => {
    const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    const old = await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
    const next = await uploadedId({ name: 'edge-2027' }, { key: KEYS.alice })
    await nameSuccessor(old, next)
    expect(await listedSuccessor(old)).toMatchObject({ successor_id: next, name: 'edge-2027' })

    // A pairing that names another team's certificate (made here at the coordinator: the API
    // refuses it) shows its id, never its name.
    const theirs = await uploadedId({ name: 'identity-secret-name' }, { key: KEYS.carol })
    const coordinator = env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT))
    await coordinator.pairSuccessor({
      certificate_id: old,
      successor_id: theirs,
      services: [],
      named_by: 'alice',
      named_at: Date.now(),
    })
    const shown = await listedSuccessor(old)
    expect(shown).toMatchObject({ successor_id: theirs })
    expect(JSON.stringify(shown)).not.toContain('identity-secret-name')
  })

  it('is null for a certificate with no successor named', async () => {
    const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + 10 * DAY) })
    const alone = await uploadedId({ certificates: made.pem }, { key: KEYS.alice })
    expect(await listedSuccessor(alone)).toBeNull()
  })
})
