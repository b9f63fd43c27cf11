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
