/**
 * Issue 20 (control-api): how long a member key change takes to reach another isolate. Two
 * isolates are two distinct binding objects (each holds its own copy of the policy and its own
 * key cache, as two isolates do); isolate A mints a key (and later revokes it) through the
 * members API, isolate B is polled every 20 ms until it accepts (refuses) the key. Prints the
 * times; the bound they show is the per-second refresh (control/served-policy.ts FRESH_MS).
 * Run alone: `npx vitest run -c bench/vitest.config.ts bench/propagation.bench.ts`.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { expect, it } from 'vitest'
import worker from '../src/index'
import { KEYS } from '../test/support/identities'

const isolate = () => ({ ...env, POLICY_MODE: 'managed' }) as Env

async function call(bindings: Env, path: string, key: string, init: RequestInit = {}) {
  const ctx = createExecutionContext()
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${key}`)
  const response = await worker.fetch(
    new Request(`https://gateway.test/gateway/v1${path}`, { ...init, headers }),
    bindings,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return response
}

async function until(bindings: Env, key: string, status: number): Promise<number> {
  const started = Date.now()
  while ((await call(bindings, '/whoami', key)).status !== status) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    if (Date.now() - started > 10_000) throw new Error(`no ${status} within 10 s`)
  }
  return Date.now() - started
}

it('measures a new key and a revocation reaching another isolate', async () => {
  const a = isolate()
  const b = isolate()
  const joins: number[] = []
  const revocations: number[] = []
  for (let round = 0; round < 5; round++) {
    expect((await call(b, '/whoami', KEYS.alice)).status).toBe(200) // B holds the policy now
    const minted = await call(a, '/members', KEYS.bob, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ member: `erin${round}`, roles: ['developer'] }),
    })
    expect(minted.status).toBe(200)
    const { result } = (await minted.json()) as { result: { key: string; key_id: string } }
    joins.push(await until(b, result.key, 200))
    const revoked = await call(a, `/members/keys/${result.key_id}/revoke`, KEYS.admin, {
      method: 'POST',
    })
    expect(revoked.status).toBe(200)
    revocations.push(await until(b, result.key, 401))
  }
  console.log(
    `propagation to another isolate, 5 rounds (ms): new key ${joins.join(', ')}; revocation ${revocations.join(', ')}`,
  )
  expect(Math.max(...revocations)).toBeLessThan(10_000)
})
