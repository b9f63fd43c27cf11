/**
 * Unknown keys cost no coordinator call (issue 20): a key the members API mints carries a check
 * value (identity/keys.ts), so an isolate refuses a forged key without asking the coordinator while
 * the table holds no working key minted before checked keys; such a key still works, and while one
 * does, guesses are looked up as before. Counted on the coordinator binding itself: every RPC an
 * isolate makes to the gateway instance goes through the counting stub.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { coordinatedMemberKeys } from '../../src/coordinator/client'
import { FRESH_MS } from '../../src/control/served-policy'
import { hashKey, hasCheckValue, mintCheckedKey, mintKey } from '../../src/identity/keys'
import { BURST } from '../../src/audit/flood-guard'
import { coordinatorCounting, emptyPolicyStore } from '../support/coordinator'
import { GATEWAY, callJson } from '../support/gateway'
import { KEYS } from '../support/identities'

const SECRET = env.AUDIT_SIGNING_KEY
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

beforeEach(async () => {
  await emptyPolicyStore()
})

/** One isolate's bindings whose coordinator counts every RPC method called on any stub. */
function countingIsolate() {
  const calls: string[] = []
  const COORDINATOR = coordinatorCounting(calls)
  const bindings = { ...env, POLICY_MODE: 'managed', COORDINATOR } as Env
  return { bindings, calls, keyLookups: () => calls.filter((c) => c === 'memberKeyUse').length }
}

async function whoami(bindings: Env, key: string) {
  const ctx = createExecutionContext()
  const response = await worker.fetch(
    new Request(`${GATEWAY}/whoami`, { headers: { authorization: `Bearer ${key}` } }),
    bindings,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  const body = (await response.json()) as { errors: { code: number }[] }
  return { status: response.status, codes: body.errors.map((e) => e.code) }
}

/** A key minted by the members API, as a lead does it (checked). */
async function mintErin(): Promise<{ key: string; key_id: string }> {
  const { status, body } = await callJson<{ key: string; key_id: string }>(`${GATEWAY}/members`, {
    method: 'POST',
    key: KEYS.bob,
    env: { POLICY_MODE: 'managed' } as Partial<Env>,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ member: 'erin', roles: ['developer'] }),
  })
  expect(status).toBe(200)
  return body.result!
}

describe('check values', () => {
  it('are carried by checked keys only, under their secret only', async () => {
    const checked = await mintCheckedKey(SECRET)
    expect(checked).toMatch(/^mtlsgw_[A-Za-z0-9_-]{43}$/) // the shape every key has
    expect(await hasCheckValue(checked, SECRET)).toBe(true)
    expect(await hasCheckValue(checked, `${SECRET}x`)).toBe(false)
    expect(await hasCheckValue(mintKey(), SECRET)).toBe(false)
    const last = checked.at(-1) === 'A' ? 'B' : 'A'
    expect(await hasCheckValue(checked.slice(0, -1) + last, SECRET)).toBe(false)
    const first = checked[7] === 'A' ? 'B' : 'A'
    expect(await hasCheckValue(`mtlsgw_${first}${checked.slice(8)}`, SECRET)).toBe(false)
  })
})

describe('unknown keys', () => {
  it('cost no coordinator call while every table key is checked', async () => {
    const minted = await mintErin()
    expect(await hasCheckValue(minted.key, SECRET)).toBe(true)

    const isolate = countingIsolate()
    expect((await whoami(isolate.bindings, minted.key)).status).toBe(200)
    expect(isolate.keyLookups()).toBe(1)

    const before = isolate.calls.length
    for (let i = 0; i < 50; i++) {
      // Random guesses, and a minted key's random part with a made-up check value.
      const forged = i % 2 === 0 ? mintKey() : minted.key.slice(0, -11) + mintKey().slice(-11)
      expect(await whoami(isolate.bindings, forged)).toEqual({ status: 401, codes: [18003] })
    }
    expect(isolate.keyLookups()).toBe(1)
    // What remains is bounded whatever the flood: the policy refresh (one a second at most) and
    // the anonymous audit entries' burst (audit/flood-guard.ts), never one call per guess.
    const rest = isolate.calls.slice(before)
    expect(rest.filter((c) => c !== 'policyCurrent' && c !== 'appendAudit')).toEqual([])
    expect(rest.filter((c) => c === 'policyCurrent').length).toBeLessThanOrEqual(2)
    expect(rest.filter((c) => c === 'appendAudit').length).toBeLessThanOrEqual(BURST)
  })

  it('still finds keys minted before checked keys, and refuses guesses at once when they end', async () => {
    const legacy = mintKey()
    const minted = await coordinatedMemberKeys(env.COORDINATOR).mint({
      key_sha256: await hashKey(legacy),
      key_id: crypto.randomUUID(),
      member: 'erin',
      team: 'payments',
      roles: ['developer'],
      created_by: 'bob',
      created_ms: Date.now(),
      expires_ms: Date.now() + 86_400_000,
    })
    expect(minted.outcome).toBe('minted')

    const isolate = countingIsolate()
    expect((await whoami(isolate.bindings, legacy)).status).toBe(200)
    expect(await whoami(isolate.bindings, mintKey())).toEqual({ status: 401, codes: [18003] })
    expect(isolate.keyLookups()).toBe(2) // the legacy key, and the guess: both looked up

    const [row] = await coordinatedMemberKeys(env.COORDINATOR).list('payments')
    const revoked = await callJson(`${GATEWAY}/members/keys/${row!.key_id}/revoke`, {
      method: 'POST',
      key: KEYS.admin,
      env: { POLICY_MODE: 'managed' } as Partial<Env>,
    })
    expect(revoked.status).toBe(200)
    await sleep(FRESH_MS) // the isolate's next refresh learns that no unchecked key works

    expect(await whoami(isolate.bindings, legacy)).toEqual({ status: 401, codes: [18003] })
    expect(await whoami(isolate.bindings, mintKey())).toEqual({ status: 401, codes: [18003] })
    expect(isolate.keyLookups()).toBe(2)
  })
})
