/**
 * Every change is on record, with who did it and what came of it: approvals (both members),
 * adoptions, assigns; refused when the record cannot be written; and no caller can make a request
 * leave no entry, or read the log with a grant that only covers their own team.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { auditEntries, exportText, newEntries } from '../support/audit'
import { coordinatorFailing, storedApprovals, storedOwner } from '../support/coordinator'
import { emulator, seedUnowned } from '../support/emulator'
import {
  GATEWAY,
  call,
  callJson,
  certificateUrl,
  certificatesUrl,
  uploadedId,
} from '../support/gateway'
import { ACCOUNT, KEYS, RULES } from '../support/identities'
import { failingWrites } from '../support/kv'
import { policyWith } from '../support/policies'

beforeEach(async () => {
  await emulator.reset()
})

const paymentsCertificate = (ca: boolean) => uploadedId({ ca }, { key: KEYS.alice })

const byRequest = async (response: Response) => {
  const id = response.headers.get('x-request-id')
  return (await auditEntries()).find((e) => e.id === id)
}

describe('two-person deletes on record', () => {
  it('names the approval and its requester on the request, and both members on the approval', async () => {
    const id = await paymentsCertificate(true)
    const requested = await callJson<null>(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    const approvalId = (requested.body as unknown as { approval: { id: string } }).approval.id
    expect(await byRequest(requested.response)).toMatchObject({
      action: 'delete',
      member: 'bob',
      // Parked: allowed so far, nothing deleted (a Cloudflare client is answered with an error).
      outcome: { class: 'parked', status: 403, error_codes: [18309] },
      approval: { id: approvalId, requested_by: 'bob' },
    })
    const approved = await call(`${GATEWAY}/approvals/${approvalId}/approve`, {
      method: 'POST',
      key: KEYS.admin,
    })
    expect(approved.status).toBe(200)
    // Recorded as the delete it ran, by the approver, for the requester.
    expect(await byRequest(approved)).toMatchObject({
      action: 'delete',
      member: 'admin',
      certificate_id: id,
      approval: { id: approvalId, requested_by: 'bob', approved_by: 'admin' },
    })
    // The CSV export carries both members too.
    const csv = await call(
      `${GATEWAY}/audit/export?format=csv&request_id=${approved.headers.get('x-request-id')}`,
      { key: KEYS.auditor },
    )
    const [header, row] = (await exportText(csv)).split('\r\n')
    const cells = Object.fromEntries(
      header!.split(',').map((name, i) => [name, row!.split(',')[i]]),
    )
    expect(cells).toMatchObject({
      approval_id: approvalId,
      approval_requested_by: 'bob',
      approval_approved_by: 'admin',
    })
  })
})

describe('refused when the record cannot be written', () => {
  const deletes = async () => (await emulator.requests()).filter((r) => r.method === 'DELETE')

  it('does not create a pending approval', async () => {
    const id = await paymentsCertificate(true)
    const { status, body } = await callJson(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
      env: { AUDIT: failingWrites() },
    })
    expect([status, body.errors[0]!.code]).toEqual([503, 18401])
    const stored = await storedApprovals()
    expect(stored.filter((a) => a.record.certificate_id === id)).toEqual([])
  })

  it('does not execute an approval', async () => {
    const id = await paymentsCertificate(true)
    const requested = await callJson<null>(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    const approvalId = (requested.body as unknown as { approval: { id: string } }).approval.id
    const { status } = await callJson(`${GATEWAY}/approvals/${approvalId}/approve`, {
      method: 'POST',
      key: KEYS.admin,
      env: { AUDIT: failingWrites() },
    })
    expect(status).toBe(503)
    expect(await deletes()).toEqual([])
    const record = await callJson<{ status: string }>(`${GATEWAY}/approvals/${approvalId}`, {
      key: KEYS.bob,
    })
    expect(record.body.result.status).toBe('pending')
  })

  it('does not assign an owner', async () => {
    const id = await seedUnowned()
    const { status } = await callJson(
      `${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/owner`,
      {
        method: 'PUT',
        key: KEYS.admin,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ team: 'payments' }),
        env: { AUDIT: failingWrites() },
      },
    )
    expect(status).toBe(503)
    expect(await storedOwner(id)).toBeNull()
  })

  it('does not adopt, and records the adoption when it does', async () => {
    // An upload whose owner could not be written: it awaits adoption by its intent.
    const ownerLost = { COORDINATOR: coordinatorFailing('confirmUpload') }
    const id = await uploadedId({}, { key: KEYS.alice, env: ownerLost })

    await callJson(certificatesUrl(), { key: KEYS.bob, env: { AUDIT: failingWrites() } })
    expect(await storedOwner(id)).toBeNull()

    const list = await call(certificatesUrl(), { key: KEYS.bob })
    expect(await storedOwner(id)).not.toBeNull()
    expect(await byRequest(list)).toMatchObject({
      action: 'list',
      adopted: [{ certificate_id: id, team: 'payments' }],
    })
  })
})

describe('what a caller cannot do to the log', () => {
  it('cannot make a request leave no entry by sending many unknown fields', async () => {
    const query = Array.from({ length: 150 }, (_, i) => `field${i}=x`).join('&')
    const written = await newEntries(() =>
      call(`${certificatesUrl()}?${query}`, { key: KEYS.alice }),
    )
    expect(written).toHaveLength(1)
    const [entry] = written as [AuditEntry]
    expect(entry.outcome).toMatchObject({ class: 'invalid', status: 400 })
    // The answer carries at most 20 errors (the last counts the rest); the entry records them.
    expect(entry.outcome.error_codes).toEqual(Array.from({ length: 20 }, () => 18103))
  })

  it('cannot read other teams entries with a grant that covers only its own team', async () => {
    const leadsAudit = {
      id: 'leads-audit',
      description: 'Leads audit',
      effect: 'allow',
      actions: ['audit'],
      subjects: { roles: ['lead'] },
    }
    const { status, body } = await callJson(`${GATEWAY}/audit?team=identity`, {
      key: KEYS.bob,
      env: { POLICY: await policyWith([...RULES, leadsAudit]) },
    })
    expect([status, body.errors[0]!.code]).toEqual([403, 18301])
  })
})

describe('outcome classes', () => {
  it('calls a refusal to delete a certificate in use invalid, not an upstream error', async () => {
    const id = await paymentsCertificate(false)
    await emulator.setAssociations(id, [{ service: 'gateway', status: 'available' }])
    const response = await call(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    expect(response.status).toBe(400)
    expect((await byRequest(response))!.outcome.class).toBe('invalid')
  })

  it('calls an upstream 5xx an upstream error', async () => {
    await emulator.addFaults({ kind: 'status', status: 500, times: 5 })
    const response = await call(certificatesUrl(), { key: KEYS.alice })
    expect((await byRequest(response))!.outcome.class).toBe('upstream_error')
  })
})
