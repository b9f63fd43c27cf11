/**
 * The per-isolate cache of table keys (identity/table-keys.ts, issue 20 slice 4), on a fake store
 * that counts its asks: a key is asked about once while the keys version holds and for at most a
 * minute; a newer version (a revocation somewhere) makes the next request ask again; two requests
 * that miss at once each ask (no shared promise); a read by the key's id is served from the same
 * answers under the same bound; expiry and a rotation's grace are checked on every request from
 * the cached record.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import type { MemberKeyStore } from '../../src/coordinator/client'
import { LAST_USED_STEP_MS, type MemberKey } from '../../src/coordinator/member-keys'
import { forgetTableKeys, tableKeyById, tableKeyCaller } from '../../src/identity/table-keys'
import { parsePolicy, type Policy } from '../../src/policy/document'
import { GatewayError } from '../../src/lib/errors'

const HASH = 'c'.repeat(64)
const parsed = parsePolicy(env.POLICY)
if (!parsed.ok) throw new Error('the test policy does not parse')
const policy: Policy = parsed.policy

function fakeStore(record: { key: MemberKey | null; version: number }) {
  const asks: string[] = []
  const store = {
    use: (hash: string) => {
      asks.push(hash)
      return Promise.resolve({ ...record })
    },
    read: (keyId: string) => {
      asks.push(`read:${keyId}`)
      return Promise.resolve(record.key)
    },
  } as unknown as MemberKeyStore
  return { asks, record, store: () => store }
}

const erin = (overrides: Partial<MemberKey> = {}): MemberKey => ({
  key_id: crypto.randomUUID(),
  member: 'erin',
  team: 'payments',
  roles: ['developer'],
  created_by: 'bob',
  created_ms: 0,
  expires_ms: 100 * LAST_USED_STEP_MS,
  last_used_ms: null,
  revoked_ms: null,
  ...overrides,
})

const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise
    return null
  } catch (error) {
    return (error as GatewayError).errors[0]!.code
  }
}

beforeEach(() => forgetTableKeys())

describe('the table keys cache', () => {
  it('asks once per version and minute, and again when the version moves', async () => {
    const fake = fakeStore({ key: erin(), version: 3 })
    const context = { keysVersion: 3, policy, store: fake.store }
    expect(await tableKeyCaller(HASH, context, 1000)).toMatchObject({
      memberId: 'erin',
      teamId: 'payments',
      via: 'key',
    })
    await tableKeyCaller(HASH, context, 2000)
    expect(fake.asks).toHaveLength(1)

    fake.record.key = erin({ revoked_ms: 2500 })
    fake.record.version = 4
    expect(await codeOf(tableKeyCaller(HASH, { ...context, keysVersion: 4 }, 3000))).toBe(18005)
    expect(fake.asks).toHaveLength(2)

    await codeOf(tableKeyCaller(HASH, { ...context, keysVersion: 4 }, 3000 + LAST_USED_STEP_MS))
    expect(fake.asks).toHaveLength(3) // a minute on: asked again (the last use is written then)
  })

  it('lets two requests that miss at once each ask', async () => {
    const fake = fakeStore({ key: erin(), version: 1 })
    const context = { keysVersion: 1, policy, store: fake.store }
    await Promise.all([tableKeyCaller(HASH, context, 0), tableKeyCaller(HASH, context, 0)])
    expect(fake.asks).toHaveLength(2)
    const keyId = fake.record.key!.key_id
    forgetTableKeys()
    await Promise.all([tableKeyById(keyId, context, 0), tableKeyById(keyId, context, 0)])
    expect(fake.asks).toHaveLength(4)
  })

  it("hands back the key's id, and serves a read by that id from the same answer while fresh", async () => {
    const fake = fakeStore({ key: erin(), version: 3 })
    const keyId = fake.record.key!.key_id
    const context = { keysVersion: 3, policy, store: fake.store }
    expect(await tableKeyCaller(HASH, context, 1000)).toMatchObject({ memberId: 'erin', keyId })
    expect(await tableKeyById(keyId, context, 2000)).toMatchObject({ key_id: keyId })
    expect(fake.asks).toEqual([HASH]) // the console's page cost no ask

    // A newer version (a revocation somewhere): read again, and the record read is kept.
    fake.record.key = erin({ key_id: keyId, revoked_ms: 2500 })
    const newer = { ...context, keysVersion: 4 }
    expect(await tableKeyById(keyId, newer, 3000)).toMatchObject({ revoked_ms: 2500 })
    expect(await tableKeyById(keyId, newer, 3500)).toMatchObject({ revoked_ms: 2500 })
    expect(fake.asks).toEqual([HASH, `read:${keyId}`])
    // And for at most a minute, as the API's answers.
    await tableKeyById(keyId, newer, 3000 + LAST_USED_STEP_MS)
    expect(fake.asks).toEqual([HASH, `read:${keyId}`, `read:${keyId}`])
  })

  it('checks expiry, the end of a grace and the team on every request from the cached record', async () => {
    const fake = fakeStore({ key: erin({ expires_ms: 5000, revoked_ms: 4000 }), version: 1 })
    const context = { keysVersion: 1, policy, store: fake.store }
    expect(await tableKeyCaller(HASH, context, 3000)).not.toBeNull() // in its grace
    expect(await codeOf(tableKeyCaller(HASH, context, 4000))).toBe(18005)
    forgetTableKeys()
    fake.record.key = erin({ expires_ms: 5000 })
    expect(await codeOf(tableKeyCaller(HASH, context, 5000))).toBe(18004)
    forgetTableKeys()
    fake.record.key = erin({ team: 'gone' })
    expect(await tableKeyCaller(HASH, context, 0)).toBeNull()
    fake.record.key = null
    forgetTableKeys()
    expect(await tableKeyCaller(HASH, context, 0)).toBeNull()
  })
})
