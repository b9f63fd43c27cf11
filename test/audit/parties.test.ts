/**
 * Every change shows under each of its parties, not only its caller: an adoption under the
 * adopted certificate and the team it went to, an assignment under the new and the previous team,
 * an approved delete under the member who asked for it. In the query API and both exports, all
 * read off the one signed event key (verify finds it valid).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { exportText } from '../support/audit'
import { coordinatorFailing } from '../support/coordinator'
import { emulator, seedUnowned } from '../support/emulator'
import {
  GATEWAY,
  call,
  callJson,
  certificateUrl,
  certificatesUrl,
  uploadNew,
  uploadedId,
} from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { makeCertificate } from '../kit/certificates'

beforeEach(async () => {
  await emulator.reset()
})

const since = () => new Date(Date.now() - 1).toISOString()

async function query(params: Record<string, string>) {
  const search = new URLSearchParams(params)
  return (await callJson<AuditEntry[]>(`${GATEWAY}/audit?${search}`, { key: KEYS.auditor })).body
    .result
}

async function exported(params: Record<string, string>, format: 'ndjson' | 'csv') {
  const search = new URLSearchParams({ ...params, format })
  return exportText(await call(`${GATEWAY}/audit/export?${search}`, { key: KEYS.auditor }))
}

async function verified(from: string) {
  const search = new URLSearchParams({ from })
  const report = (
    await callJson<{ problems: unknown[] }>(`${GATEWAY}/audit/verify?${search}`, {
      key: KEYS.auditor,
    })
  ).body.result
  return report.problems
}

describe('the parties of a change', () => {
  it('finds an adoption under the certificate and the team it went to', async () => {
    const from = since()
    const { id } = await uploadNew(
      {},
      { key: KEYS.alice, env: { COORDINATOR: coordinatorFailing('confirmUpload') } },
    )
    // The admin (team platform) lists: the list adopts payments' certificate.
    const list = await call(certificatesUrl(), { key: KEYS.admin })
    const requestId = list.headers.get('x-request-id')!

    const byCertificate = await query({ from, certificate: id! })
    expect(byCertificate.map((e) => e.action).sort()).toEqual(['list', 'upload'])
    const byTeam = await query({ from, team: 'payments', action: 'list' })
    expect(byTeam).toEqual([
      expect.objectContaining({
        request_id: requestId,
        team: 'platform',
        adopted: [{ certificate_id: id, team: 'payments' }],
      }),
    ])
    const ndjson = await exported({ from, team: 'payments', action: 'list' }, 'ndjson')
    expect(ndjson).toContain(`"adopted":[{"certificate_id":"${id}","team":"payments"}]`)
    const csv = (await exported({ from, certificate: id! }, 'csv')).split('\r\n')
    const column = csv[0]!.split(',').indexOf('adopted_certificate_id')
    expect(csv.some((row) => row.split(',')[column] === id)).toBe(true)
    expect(await verified(from)).toEqual([])
  })

  it('finds an assignment under the new team', async () => {
    const from = since()
    const id = await seedUnowned()
    const assigned = await callJson(
      `${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/owner`,
      {
        method: 'PUT',
        key: KEYS.admin,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ team: 'payments' }),
      },
    )
    expect(assigned.status).toBe(200)
    const byTeam = await query({ from, team: 'payments', action: 'assign' })
    expect(byTeam).toEqual([
      expect.objectContaining({
        team: 'platform',
        certificate_id: id,
        assigned: { team: 'payments' },
      }),
    ])
    const csv = await exported({ from, team: 'payments' }, 'csv')
    expect(csv.split('\r\n')[0]).toContain('assigned_team')
    expect(csv).toContain(',payments,')
    expect(await verified(from)).toEqual([])
  })

  it('finds an approved delete under the member who asked for it', async () => {
    const from = since()
    const id = await uploadedId({ ca: true }, { key: KEYS.alice })
    const parked = await callJson(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
      headers: { prefer: 'respond-async' },
    })
    const approvalId = (parked.body as unknown as { approval: { id: string } }).approval.id
    const approved = await callJson(`${GATEWAY}/approvals/${approvalId}/approve`, {
      method: 'POST',
      key: KEYS.admin,
    })
    expect(approved.status).toBe(200)
    const byBob = await query({ from, member: 'bob', action: 'approve' })
    expect(byBob).toEqual([
      expect.objectContaining({
        member: 'admin',
        approval: expect.objectContaining({ requested_by: 'bob', approved_by: 'admin' }),
      }),
    ])
    expect(await verified(from)).toEqual([])
  })
})

// Issue 22: entries name what they touched, and an approved delete is the delete it ran.
describe('entries that name the certificate they touched', () => {
  /** Payments' CA `name`, parked by bob (lead) and approved by the admin of team platform. */
  async function approvedDelete(name: string) {
    const id = await uploadedId({ ca: true, name }, { key: KEYS.alice })
    const parked = await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    const approvalId = (parked.body as unknown as { approval: { id: string } }).approval.id
    const approved = await call(`${GATEWAY}/approvals/${approvalId}/approve`, {
      method: 'POST',
      key: KEYS.admin,
    })
    expect(approved.status).toBe(200)
    return { id, approvalId, parked: parked.response, approved }
  }

  it('records an approved delete as a delete, under the requester, the approver and the owner', async () => {
    const from = since()
    const { id, approvalId, parked, approved } = await approvedDelete('orders-ca')
    const deletes = await query({ from, action: 'delete' })
    expect(deletes).toHaveLength(2)
    const ran = deletes.find((e) => e.request_id === approved.headers.get('x-request-id'))
    expect(ran).toMatchObject({
      member: 'admin',
      team: 'platform',
      certificate_id: id,
      certificate_name: 'orders-ca',
      certificate_ca: true,
      certificate_team: 'payments',
      fingerprint_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      approval: { id: approvalId, requested_by: 'bob', approved_by: 'admin' },
      outcome: { class: 'allowed', status: 200 },
    })
    // The request itself reads as parked, not allowed: it deleted nothing.
    const request = deletes.find((e) => e.request_id === parked.headers.get('x-request-id'))
    expect(request).toMatchObject({
      member: 'bob',
      certificate_name: 'orders-ca',
      certificate_team: 'payments',
      outcome: { class: 'parked', error_codes: [18309] },
    })
    expect(request!.approval?.approved_by).toBeUndefined()
    // Found under each party, filtered on the delete.
    const parties: Record<string, string>[] = [
      { member: 'bob' },
      { member: 'admin' },
      { team: 'payments' },
    ]
    for (const party of parties) {
      const found = await query({ from, action: 'delete', outcome: 'allowed', ...party })
      expect(
        found.map((e) => e.request_id),
        JSON.stringify(party),
      ).toEqual([approved.headers.get('x-request-id')])
    }
    // `approve` still finds the approvals given.
    expect((await query({ from, action: 'approve' })).map((e) => e.action)).toEqual(['delete'])
    expect(await verified(from)).toEqual([])
  })

  it('finds entries by the certificate name, exact or by prefix, in queries and both exports', async () => {
    const from = since()
    const { approved } = await approvedDelete('billing-edge-ca')
    await uploadedId({ name: 'billing-api' }, { key: KEYS.alice })
    await uploadedId({ name: 'search-api' }, { key: KEYS.carol })

    const exact = await query({ from, certificate_name: 'billing-edge-ca' })
    expect(exact.map((e) => e.action).sort()).toEqual(['delete', 'delete', 'upload'])
    expect(exact.every((e) => e.certificate_name === 'billing-edge-ca')).toBe(true)
    expect(await query({ from, certificate_name: 'billing' })).toEqual([])

    const prefixed = await query({ from, certificate_name_prefix: 'billing-' })
    expect(new Set(prefixed.map((e) => e.certificate_name))).toEqual(
      new Set(['billing-edge-ca', 'billing-api']),
    )

    const ndjson = await exported({ from, certificate_name: 'billing-edge-ca' }, 'ndjson')
    expect(ndjson).toContain(`"request_id":"${approved.headers.get('x-request-id')}"`)
    expect(ndjson).not.toContain('billing-api')
    // The signed marker says what the export was filtered to.
    expect(ndjson).toContain('"certificate_name":"billing-edge-ca"')
    const csv = (await exported({ from, certificate_name_prefix: 'billing-' }, 'csv')).split('\r\n')
    const header = csv[0]!.split(',')
    expect(header).toEqual(expect.arrayContaining(['certificate_ca', 'certificate_team']))
    const names = csv
      .slice(1)
      .filter((row) => row !== '' && !row.startsWith('#'))
      .map((row) => row.split(',')[header.indexOf('certificate_name')])
    expect(names.length).toBe(4)
    expect(names.every((n) => n?.startsWith('billing-'))).toBe(true)
  })

  it('names a certificate uploaded outside the gateway and assigned later, on its delete', async () => {
    const from = since()
    const made = await makeCertificate({ ca: false })
    const seeded = await emulator.seedCertificate(ACCOUNT, {
      ca: false,
      name: 'legacy-partner',
      certificates: made.pem,
    })
    const id = seeded.certificate.id
    const assigned = await call(`${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/owner`, {
      method: 'PUT',
      key: KEYS.admin,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ team: 'identity' }),
    })
    expect(assigned.status).toBe(200)
    const deleted = await call(certificateUrl(id), { method: 'DELETE', key: KEYS.admin })
    expect(deleted.status).toBe(200)
    const found = await query({ from, certificate_name: 'legacy-partner' })
    expect(found.map((e) => [e.action, e.certificate_team])).toEqual([
      ['delete', 'identity'],
      ['assign', undefined],
    ])
    // The owning team is a party: identity finds the admin's delete of its certificate.
    const byOwner = await query({ from, team: 'identity', action: 'delete' })
    expect(byOwner).toEqual([
      expect.objectContaining({ member: 'admin', certificate_id: id, certificate_ca: false }),
    ])
    expect(await verified(from)).toEqual([])
  })

  it('never names an approver on a refused approval', async () => {
    const id = await uploadedId({ ca: true, name: 'self-ca' }, { key: KEYS.alice })
    const parked = await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    const approvalId = (parked.body as unknown as { approval: { id: string } }).approval.id
    const self = await call(`${GATEWAY}/approvals/${approvalId}/approve`, {
      method: 'POST',
      key: KEYS.bob,
    })
    expect(self.status).toBe(403)
    const [entry] = await query({ request_id: self.headers.get('x-request-id')! })
    expect(entry).toMatchObject({
      action: 'approve',
      outcome: { class: 'denied' },
      certificate_name: 'self-ca',
      approval: { id: approvalId, requested_by: 'bob' },
    })
    expect(entry!.approval!.approved_by).toBeUndefined()
  })
})
