/**
 * The ownership ledger: written when an upload succeeds, removed when a delete does, never leaving
 * a certificate owned by nobody without telling anyone; and the admin's assign.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { coordinatedLedger } from '../../src/coordinator/client'
import { adoptUnowned } from '../../src/ownership/reconcile'
import { inspectCertificates } from '../../src/lib/inspect-pem'
import { makeCertificate } from '../kit/certificates'
import { emulator, seedUnowned } from '../support/emulator'
import {
  GATEWAY,
  callJson,
  certificateUrl,
  certificatesUrl,
  upload,
  uploadNew,
  uploadedId,
} from '../support/gateway'
import { newEntries } from '../support/audit'
import { coordinatorFailing, storedIntents, storedOwner } from '../support/coordinator'
import { ACCOUNT, KEYS } from '../support/identities'

beforeEach(async () => {
  await emulator.reset()
})

/** The coordinator, except that the upload's owner (or its intent) cannot be written. */
const ownerLost = { COORDINATOR: coordinatorFailing('confirmUpload') }
// An upload's intent and its audit number are one call (issue 21 item 3); the plain one remains.
const intentLost = { COORDINATOR: coordinatorFailing('recordIntent', 'recordIntentNumbered') }
const ledger = coordinatedLedger(env.COORDINATOR)
const uploads = async () => (await emulator.requests()).filter((r) => r.method === 'POST')

describe('the ledger follows uploads and deletes', () => {
  it('records the uploading team, and forgets the certificate once deleted', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    expect(await storedOwner(id)).toMatchObject({
      team: 'payments',
      member: 'alice',
      via: 'upload',
    })
    expect((await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })).status).toBe(
      200,
    )
    expect(await storedOwner(id)).toBeNull()
  })

  it('refuses an upload with 503, forwarding nothing, when its intent cannot be written', async () => {
    const { status, body } = await uploadNew({}, { key: KEYS.alice, env: intentLost })
    expect([status, body.errors[0]!.code]).toEqual([503, 18507])
    expect(await uploads()).toEqual([])
  })

  it('refuses reads with 503 when the ledger cannot be read, rather than guess an owner', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    const broken = { COORDINATOR: coordinatorFailing('owner', 'owners') }
    const get = await callJson(certificateUrl(id), { key: KEYS.alice, env: broken })
    expect([get.status, get.body.errors[0]!.code]).toEqual([503, 18507])
    const list = await callJson(certificatesUrl(), { key: KEYS.alice, env: broken })
    expect(list.status).toBe(503)
  })

  it('tells the uploader when the owner could not be recorded, and adopts the certificate later', async () => {
    const { status, body, id } = await uploadNew({}, { key: KEYS.alice, env: ownerLost })
    expect(status).toBe(200)
    expect(body.messages).toEqual([expect.objectContaining({ code: 18321 })])
    expect(await storedOwner(id!)).toBeNull()

    // The next read that meets it adopts it for the team whose upload created it.
    const list = await callJson<{ id: string }[]>(certificatesUrl(), { key: KEYS.bob })
    expect(list.body.result.map((c) => c.id)).toEqual([id])
    expect(await storedOwner(id!)).toMatchObject({
      team: 'payments',
      via: 'adopt',
    })
    expect((await callJson(certificateUrl(id!), { key: KEYS.carol })).status).toBe(404)
  })

  it('clears the intent of an upload the upstream refused, and keeps it after an ambiguous failure', async () => {
    const intents = () => storedIntents()
    const before = (await intents()).length
    const { certificates } = await uploadNew({}, { key: KEYS.alice })
    await upload({ ca: false, certificates }, { key: KEYS.carol }) // duplicate: 1471
    expect((await intents()).length).toBe(before)

    await emulator.addFaults({ kind: 'status', status: 503, match: { method: 'POST' } })
    const failed = await uploadNew({}, { key: KEYS.alice })
    expect(failed.status).toBe(502)
    expect((await intents()).length).toBe(before + 1)
  })
})

describe('the ledger across isolates', () => {
  // Each `call` builds its own env object: its own configuration and caches, as another isolate
  // (in another location) would have. Only the coordinator is shared, as in production.
  it('reads its own writes: an upload through one isolate is owned at once in another', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    expect((await callJson(certificateUrl(id), { key: KEYS.bob })).status).toBe(200)
    expect((await callJson(certificateUrl(id), { key: KEYS.carol })).status).toBe(404)
    expect((await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })).status).toBe(
      200,
    )
    expect((await callJson(certificateUrl(id), { key: KEYS.bob })).status).toBe(404)
  })

  it('adopts an orphaned upload once, however many lists meet it at the same time', async () => {
    const { id } = await uploadNew({}, { key: KEYS.alice, env: ownerLost })
    const entries = await newEntries(() =>
      Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          callJson(certificatesUrl(), { key: i % 2 === 0 ? KEYS.bob : KEYS.admin }),
        ),
      ),
    )
    const adoptions = entries.flatMap((e) => e.adopted ?? [])
    expect(adoptions).toEqual([{ certificate_id: id, team: 'payments' }])
    expect(await storedOwner(id!)).toMatchObject({ team: 'payments', via: 'adopt' })
  })
})

describe('adoption', () => {
  const account = 'abababababababababababababababab'
  const hour = 3_600_000

  async function bundleOf(pem: string) {
    const r = await inspectCertificates(pem, false)
    if (!r.ok) throw new Error(r.message)
    return r.value.info.bundleSha256
  }

  async function intentFor(pem: string, team: string, at: Date) {
    await ledger.recordIntent(
      account,
      {
        bundle_sha256: await bundleOf(pem),
        team,
        member: `${team}-member`,
        request_id: crypto.randomUUID(),
        at: at.toISOString(),
        ca: false,
        expires_on: '2030-01-01T00:00:00Z',
      },
      null,
    )
  }

  const adopting = async (certs: Parameters<typeof adoptUnowned>[2]) =>
    adoptUnowned(ledger, account, certs, await ledger.intents(account), 10_000)

  const createdAt = (at: number) => ({
    id: crypto.randomUUID(),
    uploaded_on: new Date(at).toISOString(),
  })

  it('adopts only a certificate created while the upload was in flight', async () => {
    const made = await makeCertificate({ ca: false })
    const now = Date.now()
    await intentFor(made.pem, 'identity', new Date(now))
    const before = { ...createdAt(now - hour), certificates: made.pem }
    const after = { ...createdAt(now + hour), certificates: made.pem }
    expect(await adopting([before, after])).toEqual(new Map())
    const during = { ...createdAt(now + 2_000), certificates: made.pem }
    expect(await adopting([during])).toEqual(new Map([[during.id, 'identity']]))
  })

  it('leaves a certificate two uploads could have created unowned', async () => {
    const made = await makeCertificate({ ca: false })
    const now = Date.now()
    await intentFor(made.pem, 'identity', new Date(now))
    await intentFor(made.pem, 'payments', new Date(now + 500))
    const during = { ...createdAt(now + 1_000), certificates: made.pem }
    expect(await adopting([during])).toEqual(new Map())
  })
})

describe("another team's upload of the same certificate", () => {
  async function orphanedUpload() {
    const { certificates, id } = await uploadNew({}, { key: KEYS.alice, env: ownerLost })
    expect(await storedOwner(id!)).toBeNull()
    return { certificates, id: id! }
  }

  it('cannot clear the intent that lets payments adopt its certificate', async () => {
    const { certificates, id } = await orphanedUpload()
    const duplicate = await upload({ ca: false, certificates }, { key: KEYS.carol })
    // Refused as a duplicate carol cannot see (transfer.ts), the intent left alone.
    expect(duplicate.body.errors[0]!.code).toBe(18341)
    await callJson(certificatesUrl(), { key: KEYS.bob })
    expect(await storedOwner(id)).toMatchObject({
      team: 'payments',
      via: 'adopt',
    })
  })

  it('cannot take it over with an upload that fails ambiguously', async () => {
    const { certificates, id } = await orphanedUpload()
    await emulator.addFaults({ kind: 'status', status: 503, match: { method: 'POST' } })
    expect((await upload({ ca: false, certificates }, { key: KEYS.carol })).status).toBe(502)
    await callJson(certificatesUrl(), { key: KEYS.admin })
    expect(await storedOwner(id)).not.toMatchObject({ team: 'identity' })
    expect((await callJson(certificateUrl(id), { key: KEYS.carol })).status).toBe(404)
  })

  it('cannot take it over by uploading a bundle that starts with it', async () => {
    const { certificates, id } = await orphanedUpload()
    const other = await makeCertificate({ ca: false })
    const bundle = await upload(
      { ca: false, certificates: `${certificates}\n${other.pem}` },
      { key: KEYS.carol },
    )
    expect(bundle.status).toBe(200)
    await callJson(certificatesUrl(), { key: KEYS.bob })
    expect(await storedOwner(id)).toMatchObject({ team: 'payments' })
    expect((await callJson(certificateUrl(id), { key: KEYS.carol })).status).toBe(404)
  })
})

describe('assign', () => {
  const assignUrl = (id: string) => `${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/owner`
  const assign = (id: string, team: string, key: string) =>
    callJson(assignUrl(id), {
      method: 'PUT',
      key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ team }),
    })

  it('lets an admin give an unowned certificate to a team, which then sees it', async () => {
    const id = await seedUnowned()
    expect((await callJson(certificateUrl(id), { key: KEYS.alice })).status).toBe(404)
    const { status, body } = await assign(id, 'payments', KEYS.admin)
    expect(status).toBe(200)
    expect(body.result).toEqual({
      account_id: ACCOUNT,
      mtls_certificate_id: id,
      team: 'payments',
      previous_team: null,
    })
    expect((await callJson(certificateUrl(id), { key: KEYS.alice })).status).toBe(200)
    expect(await storedOwner(id)).toMatchObject({
      team: 'payments',
      member: 'admin',
      via: 'assign',
    })
  })

  it('refuses a member without the assign right as if the certificate did not exist', async () => {
    const id = await seedUnowned()
    const { status } = await assign(id, 'payments', KEYS.alice)
    expect(status).toBe(404)
    expect(await storedOwner(id)).toBeNull()
  })

  it('refuses an unknown team, and a certificate that does not exist', async () => {
    const id = await seedUnowned()
    const team = await assign(id, 'ghosts', KEYS.admin)
    expect([team.status, team.body.errors[0]!.code, team.body.errors[0]!.source?.pointer]).toEqual([
      400,
      18330,
      '/team',
    ])
    expect((await assign(crypto.randomUUID(), 'payments', KEYS.admin)).status).toBe(404)
  })
})
