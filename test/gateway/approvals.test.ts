/**
 * Two-person deletes: a gated delete is parked as an approval; only a different member with an
 * approver role executes it, exactly once, before it expires.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { fakeClock } from '../kit/clock'
import { emulator } from '../support/emulator'
import { GATEWAY, callJson, certificateUrl, uploadedId } from '../support/gateway'
import { KEYS, RULES } from '../support/identities'
import { policyWith } from '../support/policies'

beforeEach(async () => {
  await emulator.reset()
})

const deletes = async () => (await emulator.requests()).filter((r) => r.method === 'DELETE')
const approvalUrl = (id: string) => `${GATEWAY}/approvals/${id}`
const approveUrl = (id: string) => `${approvalUrl(id)}/approve`

interface Pending {
  success: boolean
  result: null
  messages: { code: number; message: string }[]
  approval: {
    id: string
    requested_by: string
    roles: string[]
    status: string
    expires_at: string
  }
}

const aPaymentsCa = () => uploadedId({ ca: true }, { key: KEYS.alice })

/** bob's delete, asking for the accepted form that clients who understand approvals use. */
async function requestDelete(id: string, env?: Partial<Env>) {
  const { status, text, response } = await callJson(certificateUrl(id), {
    method: 'DELETE',
    key: KEYS.bob,
    headers: { prefer: 'respond-async' },
    ...(env ? { env } : {}),
  })
  return { status, response, body: JSON.parse(text) as Pending }
}

describe('two-person delete', () => {
  it('is an error to a Cloudflare client: 403/18309 naming the approval, its approvers and expiry', async () => {
    const id = await aPaymentsCa()
    const { status, text, response } = await callJson(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
    })
    const body = JSON.parse(text) as Pending & { errors: { code: number; message: string }[] }
    expect(status).toBe(403)
    // Not retried by the SDK (it retries 408, 409, 429 and 5xx, and honours this header).
    expect(response.headers.get('x-should-retry')).toBe('false')
    expect(response.headers.get('preference-applied')).toBeNull()
    expect(body).toMatchObject({
      success: false,
      result: null,
      messages: [],
      errors: [{ code: 18309 }],
      approval: { requested_by: 'bob', roles: ['admin'], status: 'pending' },
    })
    const message = body.errors[0]!.message
    expect(message).toMatch(/^Not deleted: the delete of [0-9a-f-]{36} awaits approval /)
    // The envelope's fields come first, as in every Cloudflare answer, and none is replaced.
    expect(Object.keys(body)).toEqual(['success', 'errors', 'messages', 'result', 'approval'])
    for (const part of [body.approval.id, 'admin', body.approval.expires_at]) {
      expect(message).toContain(part)
    }
    expect(await deletes()).toEqual([])
    expect((await callJson(certificateUrl(id), { key: KEYS.alice })).status).toBe(200)
    // The approval it names is real: an admin can execute it.
    const approved = await callJson(approveUrl(body.approval.id), {
      method: 'POST',
      key: KEYS.admin,
    })
    expect(approved.status).toBe(200)
    expect(await deletes()).toHaveLength(1)
  })

  it.each(['respond-async', 'wait=10, respond-async', 'RESPOND-ASYNC; x=1'])(
    'answers Prefer: %s with 202 and the pending approval',
    async (prefer) => {
      const id = await aPaymentsCa()
      const { status, response } = await callJson(certificateUrl(id), {
        method: 'DELETE',
        key: KEYS.bob,
        headers: { prefer },
      })
      expect(status).toBe(202)
      expect(response.headers.get('preference-applied')).toBe('respond-async')
    },
  )

  it('answers the request with 202 and a pending approval, and deletes nothing', async () => {
    const id = await aPaymentsCa()
    const { status, body, response } = await requestDelete(id)
    expect(status).toBe(202)
    expect(response.headers.get('x-should-retry')).toBe('false')
    expect(body).toMatchObject({
      success: true,
      result: null,
      messages: [{ code: 18303 }],
      approval: { requested_by: 'bob', roles: ['admin'], status: 'pending' },
    })
    expect(body.messages[0]!.message).toContain(body.approval.id)
    expect(await deletes()).toEqual([])
    expect((await callJson(certificateUrl(id), { key: KEYS.alice })).status).toBe(200)
  })

  it('refuses self-approval, and answers a member without an approver role as if it did not exist', async () => {
    const id = await aPaymentsCa()
    const { body } = await requestDelete(id)
    const self = await callJson(approveUrl(body.approval.id), { method: 'POST', key: KEYS.bob })
    expect([self.status, self.body.errors[0]!.code]).toEqual([403, 18305])
    const alice = await callJson(approveUrl(body.approval.id), { method: 'POST', key: KEYS.alice })
    expect([alice.status, alice.body.errors[0]!.code]).toEqual([404, 18304])
    expect(await deletes()).toEqual([])
  })

  it('executes on approval by another approver, exactly once, recording both members', async () => {
    const id = await aPaymentsCa()
    const { body } = await requestDelete(id)
    const approved = await callJson<{ id: string }>(approveUrl(body.approval.id), {
      method: 'POST',
      key: KEYS.admin,
    })
    expect(approved.status).toBe(200)
    expect(approved.body.result.id).toBe(id)
    expect(await deletes()).toHaveLength(1)

    const again = await callJson(approveUrl(body.approval.id), { method: 'POST', key: KEYS.admin2 })
    expect([again.status, again.body.errors[0]!.code]).toEqual([409, 18308])
    expect(again.response.headers.get('x-should-retry')).toBe('false')
    expect(await deletes()).toHaveLength(1)

    const record = await callJson<{ status: string; requested_by: string; approved_by: string }>(
      approvalUrl(body.approval.id),
      {
        key: KEYS.bob,
      },
    )
    expect(record.body.result).toMatchObject({
      status: 'executed',
      requested_by: 'bob',
      approved_by: 'admin',
    })
    expect((await callJson(certificateUrl(id), { key: KEYS.alice })).status).toBe(404)
  })

  it('refuses an expired approval and deletes nothing', async () => {
    const shortLived = RULES.map((rule) =>
      rule.id === 'ca-delete-needs-admin'
        ? { ...rule, approval: { roles: ['admin'], ttl_minutes: 1 } }
        : rule,
    )
    const env = { POLICY: await policyWith(shortLived) }
    const id = await aPaymentsCa()
    const { body } = await requestDelete(id, env)
    expect(Date.parse(body.approval.expires_at) - Date.now()).toBeLessThanOrEqual(60_000)
    // Approvals expire by wall clock, and the Worker reads the test's Date.
    const clock = fakeClock()
    clock.advance(61_000)
    try {
      const late = await callJson(approveUrl(body.approval.id), {
        method: 'POST',
        key: KEYS.admin,
        env,
      })
      expect([late.status, late.body.errors[0]!.code]).toEqual([410, 18307])
    } finally {
      clock.restore()
    }
    expect(await deletes()).toEqual([])
  })

  it('re-checks associations at approval time and keeps the approval open if in use', async () => {
    const id = await aPaymentsCa()
    const { body } = await requestDelete(id)
    await emulator.setAssociations(id, [{ service: 'gateway', status: 'available' }])
    const refused = await callJson(approveUrl(body.approval.id), {
      method: 'POST',
      key: KEYS.admin,
    })
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([400, 18302])
    await emulator.setAssociations(id, [])
    expect(
      (await callJson(approveUrl(body.approval.id), { method: 'POST', key: KEYS.admin })).status,
    ).toBe(200)
  })

  it('answers an unknown approval, and one that does not concern the caller, with 404', async () => {
    const unknown = await callJson(approveUrl(crypto.randomUUID()), {
      method: 'POST',
      key: KEYS.admin,
    })
    expect([unknown.status, unknown.body.errors[0]!.code]).toEqual([404, 18304])
    const id = await aPaymentsCa()
    const { body } = await requestDelete(id)
    const carol = await callJson(approvalUrl(body.approval.id), { key: KEYS.carol })
    expect([carol.status, carol.body.errors[0]!.code]).toEqual([404, 18304])
  })
})

describe('approval re-checks the delete itself', () => {
  it('does not execute once a rule added meanwhile denies the delete', async () => {
    const id = await aPaymentsCa()
    const { body } = await requestDelete(id)
    const freeze = {
      id: 'change-freeze',
      description: 'No deletes this week',
      effect: 'deny',
      actions: ['delete'],
    }
    const env = { POLICY: await policyWith([...RULES, freeze]) }
    const refused = await callJson(approveUrl(body.approval.id), {
      method: 'POST',
      key: KEYS.admin,
      env,
    })
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([403, 18301])
    expect(refused.body.errors[0]!.message).toContain('change-freeze')
    expect(await deletes()).toEqual([])
  })

  it('does not execute once the requester has been revoked', async () => {
    const id = await aPaymentsCa()
    const { body } = await requestDelete(id)
    const policy = JSON.parse(await policyWith()) as {
      members: { id: string; revoked?: boolean }[]
    }
    policy.members.find((m) => m.id === 'bob')!.revoked = true
    const refused = await callJson(approveUrl(body.approval.id), {
      method: 'POST',
      key: KEYS.admin,
      env: { POLICY: JSON.stringify(policy) },
    })
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([403, 18301])
    expect(await deletes()).toEqual([])
  })

  it("does not show another team's approval to an approver who may not see its certificate", async () => {
    // Leads may approve here, but dave (identity) cannot see payments' certificate.
    const leadsApprove = RULES.map((rule) =>
      rule.id === 'ca-delete-needs-admin'
        ? { ...rule, approval: { roles: ['admin', 'lead'], ttl_minutes: 30 } }
        : rule,
    )
    const env = { POLICY: await policyWith(leadsApprove) }
    const id = await aPaymentsCa()
    const { body } = await requestDelete(id, env)
    const snapshot = async (url: string, method: string) => {
      const { status, text } = await callJson(url, { method, key: KEYS.dave, env })
      return { status, text }
    }
    const random = crypto.randomUUID()
    expect(await snapshot(approvalUrl(body.approval.id), 'GET')).toEqual(
      await snapshot(approvalUrl(random), 'GET'),
    )
    expect(await snapshot(approveUrl(body.approval.id), 'POST')).toEqual(
      await snapshot(approveUrl(random), 'POST'),
    )
    expect(await deletes()).toEqual([])
  })
})

describe('guarded deletes', () => {
  it('refuses a member who may not delete before looking anything up upstream', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    const before = (await emulator.requests()).length
    const refused = await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.alice })
    expect(refused.status).toBe(403)
    expect((await emulator.requests()).slice(before)).toEqual([])
  })

  it('refuses to delete a certificate in use, listing the services, and forwards no delete', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    await emulator.setAssociations(id, [
      { service: 'gateway', status: 'available' },
      { service: 'hyperdrive', status: 'pending_deployment' },
    ])
    const refused = await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    expect(refused.status).toBe(400)
    expect(refused.body.errors).toEqual([
      {
        code: 18302,
        message:
          'The certificate is in use by gateway (available), hyperdrive (pending_deployment); remove those associations before deleting it',
      },
    ])
    expect(await deletes()).toEqual([])
  })
})

describe('an associations answer that is not a list', () => {
  it('is an upstream failure, never "not in use": the delete is not forwarded', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    await emulator.addFaults({ kind: 'null_result', match: { path_contains: '/associations' } })
    const refused = await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([502, 18502])
    expect(await deletes()).toEqual([])
  })
})
