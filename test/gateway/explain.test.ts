/** whoami and explain: a caller can learn who they are and what the policy would decide. */
import { beforeEach, describe, expect, it } from 'vitest'
import { newEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { GATEWAY, callJson, certificateUrl, uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS, RULES } from '../support/identities'
import { policyWith } from '../support/policies'

beforeEach(async () => {
  await emulator.reset()
})

describe('whoami', () => {
  it('names the member, team, roles, accounts, how they authenticated and their budget', async () => {
    const { status, body } = await callJson(`${GATEWAY}/whoami`, { key: KEYS.bob })
    expect(status).toBe(200)
    // The suite's budget: 1,000,000 requests, 90% of them the gateway's (900,000), a tenth of
    // that held for admins, the rest split between three teams; half of each other team's
    // unused share is held for it.
    expect(body.result).toEqual({
      member: 'bob',
      team: 'payments',
      roles: ['lead'],
      authenticated_by: 'key',
      accounts: [ACCOUNT],
      budget: {
        window_seconds: 300,
        token: { cap: 900_000, used: 0, reserve: 90_000, reserve_used: 0 },
        team: { share: 270_000, used: 0, available: 540_000 },
        member: { limit: null, used: 0 },
        breaker: { open: false, retry_after_seconds: 0 },
        // The upstream has not been called since the budget was reset: no word of it yet.
        upstream: null,
      },
    })
  })

  it('needs a key like everything else', async () => {
    expect((await callJson(`${GATEWAY}/whoami`, { key: null })).status).toBe(401)
  })
})

describe('explain', () => {
  const explain = (query: string, key: string, env?: Partial<Env>) =>
    callJson<{
      allowed: boolean
      rule_ids: string[]
      reason: string
      approval_required: unknown
      shadow: unknown
    }>(`${GATEWAY}/explain?${query}`, { key, ...(env ? { env } : {}) })

  it('says a developer may not delete her team certificate', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    const { status, body } = await explain(
      `action=delete&account_id=${ACCOUNT}&mtls_certificate_id=${id}`,
      KEYS.alice,
    )
    expect(status).toBe(200)
    expect(body.result).toEqual({
      action: 'delete',
      allowed: false,
      rule_ids: [],
      reason: 'no rule allows delete for alice',
      approval_required: null,
      shadow: null,
    })
    expect((await emulator.requests()).filter((r) => r.method === 'DELETE')).toEqual([])
  })

  it('tells a lead his delete would be allowed, and does nothing', async () => {
    // Bob may delete this certificate: if explaining acted on the question, it would be gone.
    const id = await uploadedId({}, { key: KEYS.alice })
    const before = (await emulator.requests()).length
    let answer!: Awaited<ReturnType<typeof explain>>
    const written = await newEntries(
      async () =>
        (answer = await explain(
          `action=delete&account_id=${ACCOUNT}&mtls_certificate_id=${id}`,
          KEYS.bob,
        )),
    )
    expect(answer.status).toBe(200)
    expect(answer.body.result).toEqual({
      action: 'delete',
      allowed: true,
      rule_ids: ['leads-delete-own'],
      reason: 'delete allowed by leads-delete-own',
      approval_required: null,
      shadow: null,
    })
    // Only lookups reached the upstream, and the request is on record as an explain, not a delete.
    expect((await emulator.requests()).slice(before).filter((r) => r.method !== 'GET')).toEqual([])
    expect(written.map((entry) => [entry.action, entry.member])).toEqual([['explain', 'bob']])
    // The certificate is still there, still his team's.
    expect((await callJson(certificateUrl(id), { key: KEYS.bob })).status).toBe(200)
  })

  it('names the allowing rules and an approval requirement', async () => {
    const id = await uploadedId({ ca: true }, { key: KEYS.alice })
    const { body } = await explain(
      `action=delete&account_id=${ACCOUNT}&mtls_certificate_id=${id}`,
      KEYS.bob,
    )
    expect(body.result).toMatchObject({
      allowed: true,
      rule_ids: ['leads-delete-own', 'ca-delete-needs-admin'],
      approval_required: { roles: ['admin'], ttl_minutes: 30 },
    })
  })

  it('reports shadow rules', async () => {
    const shadow = {
      id: 'trial',
      description: 'd',
      effect: 'deny',
      actions: ['upload'],
      mode: 'shadow',
    }
    const { body } = await explain(`action=upload&account_id=${ACCOUNT}&ca=false`, KEYS.alice, {
      POLICY: await policyWith([...RULES, shadow]),
    })
    expect(body.result).toMatchObject({
      allowed: true,
      shadow: { effect: 'deny', rule_ids: ['trial'] },
    })
  })

  it('does not reveal a certificate the caller may not see', async () => {
    const theirs = await uploadedId({}, { key: KEYS.carol })
    const { status, body } = await explain(
      `action=get&account_id=${ACCOUNT}&mtls_certificate_id=${theirs}`,
      KEYS.alice,
    )
    expect([status, body.errors[0]!.code]).toEqual([404, 1472])
  })

  it('validates its query', async () => {
    const { status, body } = await explain(`action=rename&account_id=${ACCOUNT}`, KEYS.alice)
    expect(status).toBe(400)
    expect(body.errors[0]!.source?.pointer).toBe('/action')
    const missing = await explain(`action=delete&account_id=${ACCOUNT}`, KEYS.alice)
    expect([missing.status, missing.body.errors[0]!.source?.pointer]).toEqual([
      400,
      '/mtls_certificate_id',
    ])
  })
})
