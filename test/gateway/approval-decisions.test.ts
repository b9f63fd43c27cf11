/**
 * Issue 22: approvals with the facts. One open approval per certificate; the requester's reason,
 * kept and shown; the certificate as it is now (associations fetched at that moment) for the
 * approver; withdraw by the requester, reject with a reason by an approver; an approval whose
 * certificate is gone closes itself and says so plainly; closed approvals keep what they were
 * about. Each on the audit record.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { exportText } from '../support/audit'
import { storedApprovals } from '../support/coordinator'
import { deleteOutside, emulator } from '../support/emulator'
import { GATEWAY, call, callJson, certificateUrl, uploadedId } from '../support/gateway'
import { KEYS } from '../support/identities'

beforeEach(async () => {
  await emulator.reset()
})

interface ApprovalBody {
  id: string
  status: string
  requested_by: string
  reason?: string
  closed_by?: string
  close_reason?: string
  certificate: { name?: string | null; owner_team: string | null; ca?: boolean }
}

const approvalUrl = (id: string) => `${GATEWAY}/approvals/${id}`
const post = (url: string, key: string, body?: unknown) =>
  callJson<ApprovalBody>(url, {
    method: 'POST',
    key,
    ...(body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : {}),
  })

/** bob (lead of payments) asks to delete payments' CA `id`; it is parked for an admin. */
async function requestDelete(id: string, reason?: string) {
  const answer = await callJson(certificateUrl(id), {
    method: 'DELETE',
    key: KEYS.bob,
    headers: {
      prefer: 'respond-async',
      ...(reason !== undefined ? { 'x-approval-reason': reason } : {}),
    },
  })
  expect(answer.status).toBe(202)
  const body = JSON.parse(answer.text) as {
    approval: ApprovalBody
    messages: { message: string }[]
  }
  return { ...body, response: answer.response }
}

const aPaymentsCa = (name = 'orders-ca') => uploadedId({ ca: true, name }, { key: KEYS.alice })

async function storedEntry(requestId: string | null): Promise<AuditEntry> {
  const ndjson = await exportText(
    await call(`${GATEWAY}/audit/export?request_id=${requestId}`, { key: KEYS.auditor }),
  )
  return JSON.parse(ndjson.split('\n')[0]!) as AuditEntry
}

describe('one open approval per certificate', () => {
  it('answers a repeated request with the approval already open, whoever asks', async () => {
    const id = await aPaymentsCa()
    const first = await requestDelete(id, 'rotated to orders-ca-2026')
    const again = await requestDelete(id)
    expect(again.approval.id).toBe(first.approval.id)
    expect(again.approval.reason).toBe('rotated to orders-ca-2026')
    expect(again.messages[0]!.message).toMatch(/already requested by bob/)
    const open = (await storedApprovals()).filter((a) => a.record.certificate_id === id)
    expect(open).toHaveLength(1)
  })
})

describe('the facts an approver decides on', () => {
  it("shows who asked and why, and the certificate's associations fetched now", async () => {
    const id = await aPaymentsCa()
    const { approval, response } = await requestDelete(id, 'replaced by orders-ca-2027')
    expect(approval.reason).toBe('replaced by orders-ca-2027')
    // The reason is on the audit record of the request.
    const parked = await storedEntry(response.headers.get('x-request-id'))
    expect(parked.approval).toMatchObject({
      requested_by: 'bob',
      reason: 'replaced by orders-ca-2027',
    })

    await emulator.setAssociations(id, [{ service: 'gateway', status: 'active' }])
    const review = await callJson<{
      approval: ApprovalBody
      current: { owner_team: string; associations: unknown[] } | null
    }>(`${approvalUrl(approval.id)}/review`, { key: KEYS.admin })
    expect(review.status).toBe(200)
    expect(review.body.result).toMatchObject({
      approval: {
        requested_by: 'bob',
        reason: 'replaced by orders-ca-2027',
        certificate: { name: 'orders-ca', owner_team: 'payments', ca: true },
      },
      current: { owner_team: 'payments', associations: [{ service: 'gateway', status: 'active' }] },
    })
  })
})

describe('withdraw and reject', () => {
  it('lets the requester withdraw, nobody else; then nothing can approve it', async () => {
    const id = await aPaymentsCa()
    const { approval } = await requestDelete(id)
    const byAdmin = await post(`${approvalUrl(approval.id)}/withdraw`, KEYS.admin, {})
    expect([byAdmin.status, byAdmin.body.errors[0]?.code]).toEqual([403, 18370])

    const withdrawn = await post(`${approvalUrl(approval.id)}/withdraw`, KEYS.bob, {
      reason: 'wrong certificate',
    })
    expect(withdrawn.status).toBe(200)
    expect(withdrawn.body.result).toMatchObject({
      status: 'withdrawn',
      closed_by: 'bob',
      close_reason: 'wrong certificate',
    })
    const approve = await post(`${approvalUrl(approval.id)}/approve`, KEYS.admin)
    expect([approve.status, approve.body.errors[0]?.code]).toEqual([409, 18308])
    expect((await callJson(certificateUrl(id), { key: KEYS.alice })).status).toBe(200)
    const entry = await storedEntry(withdrawn.response.headers.get('x-request-id'))
    expect(entry).toMatchObject({
      action: 'withdraw',
      member: 'bob',
      certificate_name: 'orders-ca',
      approval: { id: approval.id, requested_by: 'bob', reason: 'wrong certificate' },
    })
    expect(entry.approval?.approved_by).toBeUndefined()
  })

  it('lets an approver reject with a reason, never the requester', async () => {
    const id = await aPaymentsCa()
    const { approval } = await requestDelete(id)
    const own = await post(`${approvalUrl(approval.id)}/reject`, KEYS.bob, { reason: 'no' })
    expect([own.status, own.body.errors[0]?.code]).toEqual([403, 18371])
    const bare = await post(`${approvalUrl(approval.id)}/reject`, KEYS.admin, {})
    expect(bare.status).toBe(400)

    const rejected = await post(`${approvalUrl(approval.id)}/reject`, KEYS.admin, {
      reason: 'still used by the EU edge',
    })
    expect(rejected.status).toBe(200)
    expect(rejected.body.result).toMatchObject({
      status: 'rejected',
      closed_by: 'admin',
      close_reason: 'still used by the EU edge',
    })
    // The requester reads why.
    const read = await callJson<ApprovalBody>(approvalUrl(approval.id), { key: KEYS.bob })
    expect(read.body.result).toMatchObject({
      status: 'rejected',
      close_reason: 'still used by the EU edge',
    })
    const entry = await storedEntry(rejected.response.headers.get('x-request-id'))
    expect(entry).toMatchObject({
      action: 'reject',
      member: 'admin',
      certificate_team: 'payments',
      approval: { requested_by: 'bob', reason: 'still used by the EU edge' },
    })
    expect(entry.approval?.approved_by).toBeUndefined()
  })
})

describe('an approval whose certificate is gone', () => {
  it('closes itself when approved, answers plainly, and keeps what it was about', async () => {
    const id = await aPaymentsCa('gone-ca')
    const { approval } = await requestDelete(id)
    await deleteOutside(id)
    const approve = await post(`${approvalUrl(approval.id)}/approve`, KEYS.admin)
    expect([approve.status, approve.body.errors[0]?.code]).toEqual([410, 18372])
    expect(approve.body.errors[0]!.message).toMatch(/no longer exists/)
    const read = await callJson<ApprovalBody>(approvalUrl(approval.id), { key: KEYS.bob })
    expect(read.body.result).toMatchObject({
      status: 'gone',
      closed_by: 'gateway',
      certificate: { name: 'gone-ca', owner_team: 'payments' },
    })
    // Asking again opens a new approval only if the certificate still exists: it does not.
    expect((await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })).status).toBe(
      404,
    )
  })

  it('closes itself when reviewed', async () => {
    const id = await aPaymentsCa('gone-too')
    const { approval } = await requestDelete(id)
    await deleteOutside(id)
    const review = await callJson<{ approval: ApprovalBody; current: unknown }>(
      `${approvalUrl(approval.id)}/review`,
      { key: KEYS.admin },
    )
    expect(review.status).toBe(200)
    expect(review.body.result).toMatchObject({ approval: { status: 'gone' }, current: null })
    const pending = await callJson<ApprovalBody[]>(`${GATEWAY}/approvals`, { key: KEYS.admin })
    expect(pending.body.result.map((a) => a.id)).not.toContain(approval.id)
  })
})

describe('a closed approval', () => {
  it('keeps the name, owner and kind of the certificate it deleted', async () => {
    const id = await aPaymentsCa('deleted-ca')
    const { approval } = await requestDelete(id)
    expect((await post(`${approvalUrl(approval.id)}/approve`, KEYS.admin)).status).toBe(200)
    const read = await callJson<ApprovalBody>(approvalUrl(approval.id), { key: KEYS.admin })
    expect(read.body.result).toMatchObject({
      status: 'executed',
      certificate: { name: 'deleted-ca', owner_team: 'payments', ca: true },
    })
  })
})
