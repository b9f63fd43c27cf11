/**
 * A certificate another team holds (issue 19, item 6): the duplicate upload answers a way forward
 * (409 / 18341) that names neither the holding team nor the certificate; the asking team files a
 * transfer request with the PEM, an approver (allowed `assign`) executes it once; a team without
 * the PEM learns nothing through any of it.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { hashKey } from '../../src/identity/keys'
import { makeCertificate } from '../kit/certificates'
import { newEntries } from '../support/audit'
import { resetLedger, storedOwner } from '../support/coordinator'
import { emulator, seedWith } from '../support/emulator'
import {
  GATEWAY,
  callJson,
  certificateUrl,
  upload,
  uploadNew,
  type CallOptions,
} from '../support/gateway'
import { ACCOUNT, KEYS, RULES } from '../support/identities'
import { policyWith } from '../support/policies'

/** A third team with a developer of its own: it holds none of the PEMs below. */
const PAT = `mtlsgw_${'TEST_partners_pat_'.padEnd(43, 'q')}`

async function policyEnv(options: { quotas?: Record<string, number>; rules?: unknown[] } = {}) {
  const policy = JSON.parse(await policyWith(options.rules ?? RULES)) as {
    teams: unknown[]
    members: unknown[]
    quotas?: unknown
  }
  policy.teams.push({ id: 'partners', accounts: [ACCOUNT] })
  policy.members.push({
    id: 'pat',
    team: 'partners',
    roles: ['developer'],
    key_sha256: await hashKey(PAT),
  })
  if (options.quotas) policy.quotas = { ca_certificates: options.quotas }
  return { POLICY: JSON.stringify(policy) }
}

let env: Partial<Env>
beforeEach(async () => {
  await emulator.reset()
  await resetLedger()
  env = await policyEnv()
})

const transfersUrl = `${GATEWAY}/accounts/${ACCOUNT}/transfers`
const approveUrl = (id: string) => `${GATEWAY}/transfers/${id}/approve`
const fileTransfer = (certificates: string, key: string, options: CallOptions = {}) =>
  callJson<Record<string, unknown>>(transfersUrl, {
    method: 'POST',
    key,
    env,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ certificates }),
    ...options,
  })
const listTransfers = (key: string) =>
  callJson<Record<string, unknown>[]>(transfersUrl, { key, env })
const approve = (id: string, key: string) =>
  callJson<{ transfer: Record<string, unknown>; assignment: Record<string, unknown> }>(
    approveUrl(id),
    { method: 'POST', key, env },
  )

/** payments holds a certificate identity needs; returns its PEM and id. */
async function heldByPayments(ca = false) {
  const { certificates, id, status } = await uploadNew({ ca }, { key: KEYS.alice, env })
  expect(status).toBe(200)
  return { pem: certificates, id: id! }
}

describe('a duplicate of a certificate the uploader cannot see', () => {
  it('answers 409 / 18341 with a way forward, naming neither the team nor the id', async () => {
    const { pem, id } = await heldByPayments()
    const entries = await newEntries(async () => {
      const refused = await upload({ ca: false, certificates: pem }, { key: KEYS.carol, env })
      expect([refused.status, refused.body.errors.map((e) => e.code)]).toEqual([409, [18341]])
      expect(refused.response.headers.get('x-should-retry')).toBe('false')
      const requestId = refused.response.headers.get('x-request-id')!
      const { message } = refused.body.errors[0]!
      expect(message).toContain(`Quote request ${requestId}`)
      expect(message).toContain(`/gateway/v1/accounts/${ACCOUNT}/transfers`)
      expect(refused.text).not.toContain(id)
      expect(refused.text).not.toContain('payments')
      expect(refused.text).not.toContain('1471')
    })
    // The admin the request id is quoted to finds the certificate in the audit entry.
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'upload',
        member: 'carol',
        certificate_id: id,
        outcome: expect.objectContaining({ status: 409, error_codes: [18341] }),
      }),
    ])
  })

  it('answers an unowned duplicate exactly as another team’s (but for the request id)', async () => {
    const made = await makeCertificate({ ca: false })
    await seedWith({ ca: false, pem: made.pem })
    const { pem } = await heldByPayments()
    const unowned = await upload({ ca: false, certificates: made.pem }, { key: KEYS.carol, env })
    const owned = await upload({ ca: false, certificates: pem }, { key: KEYS.carol, env })
    const shape = (r: typeof owned) => ({
      status: r.status,
      body: r.text.replace(r.response.headers.get('x-request-id')!, '<id>'),
    })
    expect(shape(unowned)).toEqual(shape(owned))
  })

  it("keeps Cloudflare's 1471 for a duplicate the uploader may see", async () => {
    const { pem } = await heldByPayments()
    for (const key of [KEYS.bob, KEYS.admin]) {
      const duplicate = await upload({ ca: false, certificates: pem }, { key, env })
      expect([duplicate.status, duplicate.body.errors[0]!.code]).toEqual([400, 1471])
    }
  })

  it('relays the 1471 when the certificate cannot be looked up', async () => {
    const { pem } = await heldByPayments()
    await emulator.addFaults({ kind: 'status', status: 500, times: 5, match: { method: 'GET' } })
    const duplicate = await upload({ ca: false, certificates: pem }, { key: KEYS.carol, env })
    expect([duplicate.status, duplicate.body.errors[0]!.code]).toEqual([400, 1471])
  })
})

describe('a transfer request, end to end', () => {
  it('is filed by the asking team, approved by an admin, and the certificate is its own', async () => {
    const { pem, id } = await heldByPayments()
    const filed = await fileTransfer(pem, KEYS.carol)
    expect(filed.status).toBe(200)
    const transfer = filed.body.result
    expect(transfer).toMatchObject({
      to_team: 'identity',
      requested_by: 'carol',
      status: 'pending',
    })
    expect(transfer).not.toHaveProperty('certificate_id')
    expect(filed.text).not.toContain(id)
    expect(filed.text).not.toContain('payments')
    // Filing again answers the same request.
    expect((await fileTransfer(pem, KEYS.dave)).body.result.id).toBe(transfer.id)

    // The asking team sees its request, redacted; the admin sees what it is about.
    const theirs = await listTransfers(KEYS.dave)
    expect(theirs.body.result).toEqual([transfer])
    expect((await listTransfers(KEYS.admin)).body.result).toEqual([
      { ...transfer, certificate_id: id, from_team: 'payments' },
    ])

    // The asking team cannot approve it itself.
    const self = await approve(transfer.id as string, KEYS.dave)
    expect([self.status, self.body.errors[0]!.code]).toEqual([403, 18301])
    expect(self.text).not.toContain(id)

    const entries = await newEntries(async () => {
      const approved = await approve(transfer.id as string, KEYS.admin)
      expect(approved.status).toBe(200)
      expect(approved.body.result.assignment).toEqual({
        account_id: ACCOUNT,
        mtls_certificate_id: id,
        team: 'identity',
        previous_team: 'payments',
      })
    })
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'assign',
        member: 'admin',
        certificate_id: id,
        assigned: { team: 'identity', previous_team: 'payments' },
        approval: { id: transfer.id, requested_by: 'carol', approved_by: 'admin' },
      }),
    ])
    expect(await storedOwner(id)).toMatchObject({ team: 'identity', via: 'assign' })
    expect((await callJson(certificateUrl(id), { key: KEYS.carol, env })).status).toBe(200)
    expect((await callJson(certificateUrl(id), { key: KEYS.alice, env })).status).toBe(404)
    // Executed, it shows the asking team its certificate; it runs once.
    expect((await listTransfers(KEYS.carol)).body.result).toEqual([
      expect.objectContaining({ id: transfer.id, status: 'executed', certificate_id: id }),
    ])
    const again = await approve(transfer.id as string, KEYS.admin2)
    expect([again.status, again.body.errors[0]!.code]).toEqual([409, 18343])
  })

  it("is approved by the owning team's lead where the policy lets leads assign their own", async () => {
    const { pem, id } = await heldByPayments()
    const transfer = (await fileTransfer(pem, KEYS.carol)).body.result
    // Under the suite's rules a lead may not assign: to bob the request does not exist.
    expect((await approve(transfer.id as string, KEYS.bob)).body.errors[0]!.code).toBe(18342)
    env = await policyEnv({
      rules: [
        ...RULES,
        {
          id: 'leads-give-away-own',
          description: 'Leads may give their team certificates to another team',
          effect: 'allow',
          actions: ['assign'],
          subjects: { roles: ['lead'] },
        },
      ],
    })
    expect((await listTransfers(KEYS.bob)).body.result).toEqual([
      expect.objectContaining({ id: transfer.id, certificate_id: id, from_team: 'payments' }),
    ])
    expect((await approve(transfer.id as string, KEYS.bob)).status).toBe(200)
    expect(await storedOwner(id)).toMatchObject({ team: 'identity' })
  })

  it("respects the asking team's CA quota, and stays open when refused", async () => {
    env = await policyEnv({ quotas: { payments: 2, identity: 0, platform: 1, partners: 0 } })
    const { pem, id } = await heldByPayments(true)
    const transfer = (await fileTransfer(pem, KEYS.carol)).body.result
    const refused = await approve(transfer.id as string, KEYS.admin)
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([403, 18340])
    expect(await storedOwner(id)).toMatchObject({ team: 'payments' })
    expect((await listTransfers(KEYS.carol)).body.result).toEqual([
      expect.objectContaining({ id: transfer.id, status: 'pending' }),
    ])
  })

  it('refuses a request for a certificate the team already sees, and a PEM nobody holds', async () => {
    const { pem } = await heldByPayments()
    const own = await fileTransfer(pem, KEYS.bob)
    expect([own.status, own.body.errors[0]!.code]).toEqual([409, 18344])
    const fresh = await makeCertificate({ ca: false })
    const none = await fileTransfer(fresh.pem, KEYS.carol)
    expect([none.status, none.body.errors[0]!.code]).toEqual([404, 1472])
  })

  it('refuses a member who may not upload, before asking the upstream anything', async () => {
    const { pem } = await heldByPayments()
    await emulator.clearRequests()
    const auditor = await fileTransfer(pem, KEYS.auditor)
    expect([auditor.status, auditor.body.errors[0]!.code]).toEqual([403, 18301])
    expect(await emulator.requests()).toEqual([])
  })
})

describe('a team without the PEM', () => {
  it('cannot see, approve or probe another team’s transfer request', async () => {
    const { pem, id } = await heldByPayments()
    const transfer = (await fileTransfer(pem, KEYS.carol)).body.result
    expect((await listTransfers(PAT)).body.result).toEqual([])
    const theirs = await approve(transfer.id as string, PAT)
    const unknown = await approve(crypto.randomUUID(), PAT)
    const shape = (r: typeof theirs) => ({
      status: r.status,
      body: r.text.replace(r.response.headers.get('x-request-id')!, '<id>'),
    })
    expect(shape(theirs)).toEqual(shape(unknown))
    expect(theirs.body.errors[0]!.code).toBe(18342)
    expect(theirs.text).not.toContain(id)
  })

  it('cannot name a certificate by id, and a PEM it made up finds nothing', async () => {
    const { id } = await heldByPayments()
    const byId = await callJson(transfersUrl, {
      method: 'POST',
      key: PAT,
      env,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mtls_certificate_id: id }),
    })
    expect(byId.status).toBe(400)
    expect(byId.text).not.toContain('payments')
    const madeUp = await makeCertificate({ ca: false })
    const none = await fileTransfer(madeUp.pem, PAT)
    expect([none.status, none.body.errors[0]!.code]).toEqual([404, 1472])
    const garbage = await fileTransfer('not a pem', PAT)
    expect([garbage.status, garbage.body.errors[0]!.source?.pointer]).toEqual([
      400,
      '/certificates',
    ])
  })
})
