/**
 * Members and keys without a deploy (issue 20, slice 4), through the Worker and the coordinator:
 * a lead mints a member's key that works in another isolate at once; a revocation and a rotation
 * without grace are refused within 1 s by an isolate that had the key cached; a rotation with grace
 * keeps both keys; a lead cannot grant a role that may delete nor act on another team; an expired
 * key is refused; the last use is written at most once a minute; no key or hash in an answer or an
 * audit entry.
 */
import {
  createExecutionContext,
  env,
  runInDurableObject,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { coordinatedMemberKeys } from '../../src/coordinator/client'
import { opened } from '../../src/coordinator/index'
import { LAST_USED_STEP_MS } from '../../src/coordinator/member-keys'
import { POLICY_INSTANCE } from '../../src/coordinator/shard'
import { FRESH_MS } from '../../src/control/served-policy'
import { hashKey, mintKey } from '../../src/identity/keys'
import { newEntries } from '../support/audit'
import { GATEWAY, callJson } from '../support/gateway'
import { KEYS } from '../support/identities'
import { emptyPolicyStore } from '../support/coordinator'

const managedEnv = { POLICY_MODE: 'managed' } as Partial<Env>
const gatewayInstance = () => env.COORDINATOR.get(env.COORDINATOR.idFromName(POLICY_INSTANCE))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

beforeEach(async () => {
  await emptyPolicyStore()
})

interface KeyView {
  key_id: string
  member: string
  team: string
  roles: string[]
  state: string
  last_used_at: string | null
  revoked_at: string | null
  expires_at: string
}
type Minted = KeyView & { key: string }

const post = <T>(path: string, key: string, body?: unknown) =>
  callJson<T>(`${GATEWAY}${path}`, {
    method: 'POST',
    key,
    env: managedEnv,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  })

const addMember = (key: string, body: Record<string, unknown>) =>
  post<Minted>('/members', key, body)
const list = (key: string, team?: string) =>
  callJson<{ team: string; keys: KeyView[] }>(
    `${GATEWAY}/members${team === undefined ? '' : `?team=${team}`}`,
    { key, env: managedEnv },
  )

/** One binding set reused across calls: one "isolate" holding its copy of the revision. */
const isolate = () => ({ ...env, POLICY_MODE: 'managed' }) as Env

async function whoami(bindings: Env, key: string) {
  const ctx = createExecutionContext()
  const response = await worker.fetch(
    new Request(`${GATEWAY}/whoami`, { headers: { authorization: `Bearer ${key}` } }),
    bindings,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  const body = (await response.json()) as {
    errors: { code: number }[]
    result?: { member: string; team: string }
  }
  return {
    status: response.status,
    codes: body.errors.map((e) => e.code),
    member: body.result?.member,
  }
}

async function mintErin(roles = ['developer']): Promise<Minted> {
  const { status, body } = await addMember(KEYS.bob, { member: 'erin', roles })
  expect(status).toBe(200)
  return body.result!
}

describe('members and keys', () => {
  it("mints a member's key, shown once, that another isolate accepts at once", async () => {
    const other = isolate()
    expect((await whoami(other, KEYS.alice)).status).toBe(200) // holds the policy already
    const minted = await mintErin()
    expect(minted).toMatchObject({ member: 'erin', team: 'payments', roles: ['developer'] })
    expect(minted.key).toMatch(/^mtlsgw_/)
    expect(await whoami(other, minted.key)).toMatchObject({ status: 200, member: 'erin' })

    const listed = await list(KEYS.alice)
    expect(listed.status).toBe(200)
    const [view] = listed.body.result!.keys
    expect(view).toMatchObject({ key_id: minted.key_id, state: 'active' })
    expect(view!.last_used_at).not.toBeNull() // the use above
    expect(listed.text).not.toContain(minted.key)
    expect(listed.text).not.toContain(await hashKey(minted.key))
  })

  it('refuses a revoked key within 1 s in an isolate that had it cached', async () => {
    const held = isolate()
    const minted = await mintErin()
    expect((await whoami(held, minted.key)).status).toBe(200) // cached in this isolate now
    const revoked = await post<KeyView>(`/members/keys/${minted.key_id}/revoke`, KEYS.admin)
    expect(revoked.status).toBe(200)
    expect(revoked.body.result!.state).toBe('revoked')
    await sleep(FRESH_MS)
    expect(await whoami(held, minted.key)).toMatchObject({ status: 401, codes: [18005] })
  })

  it('rotates without grace (the old key refused within 1 s) and with grace (both work)', async () => {
    const held = isolate()
    const first = await mintErin()
    expect((await whoami(held, first.key)).status).toBe(200)

    const graceful = await post<Minted & { replaced: KeyView }>(
      `/members/keys/${first.key_id}/rotate`,
      first.key,
      { grace_seconds: 3600 },
    )
    expect(graceful.status).toBe(200)
    const second = graceful.body.result!
    expect(second.replaced).toMatchObject({ key_id: first.key_id, state: 'grace' })
    await sleep(FRESH_MS)
    expect((await whoami(held, first.key)).status).toBe(200)
    expect(await whoami(held, second.key)).toMatchObject({ status: 200, member: 'erin' })

    // Nobody else rotates erin's key: another member's key id is answered as missing.
    const alice = await post(`/members/keys/${second.key_id}/rotate`, KEYS.alice, {
      grace_seconds: 0,
    })
    expect([alice.status, alice.body.errors[0]!.code]).toEqual([404, 18360])

    const abrupt = await post<Minted>(`/members/keys/${second.key_id}/rotate`, second.key, {
      grace_seconds: 0,
    })
    expect(abrupt.status).toBe(200)
    await sleep(FRESH_MS)
    expect(await whoami(held, second.key)).toMatchObject({ status: 401, codes: [18005] })
    expect((await whoami(held, abrupt.body.result!.key)).status).toBe(200)
    const again = await post(`/members/keys/${second.key_id}/rotate`, second.key, {
      grace_seconds: 0,
    })
    expect(again.status).toBe(401) // a revoked key authenticates no more

    const tooLong = await post(
      `/members/keys/${abrupt.body.result!.key_id}/rotate`,
      abrupt.body.result!.key,
      {
        grace_seconds: 8 * 86_400,
      },
    )
    expect(tooLong.status).toBe(400)
  })

  it('lets a lead grant only roles that cannot delete nor reach past the team, in their own team only', async () => {
    const lead = await addMember(KEYS.bob, { member: 'erin', roles: ['lead'] })
    expect([lead.status, lead.body.errors[0]!.code]).toEqual([403, 18361])
    const admin = await addMember(KEYS.admin, { member: 'erin', roles: ['admin'] })
    expect([admin.status, admin.body.errors[0]!.code]).toEqual([403, 18361])
    // The auditor reads every team's log (owner: any): more than a lead's own team may hand out.
    const auditor = await addMember(KEYS.bob, { member: 'erin', roles: ['auditor'] })
    expect([auditor.status, auditor.body.errors[0]!.code]).toEqual([403, 18361])
    const otherTeam = await addMember(KEYS.bob, {
      member: 'erin',
      team: 'identity',
      roles: ['developer'],
    })
    expect([otherTeam.status, otherTeam.body.errors[0]!.code]).toEqual([403, 18131])
    const notLead = await addMember(KEYS.alice, { member: 'erin', roles: ['developer'] })
    expect([notLead.status, notLead.body.errors[0]!.code]).toEqual([403, 18131])
    const taken = await addMember(KEYS.bob, { member: 'carol', roles: ['developer'] })
    expect([taken.status, taken.body.errors[0]!.code]).toEqual([409, 18362])
    const tooLong = await addMember(KEYS.bob, {
      member: 'erin',
      roles: ['developer'],
      expires_in_days: 366,
    })
    expect(tooLong.status).toBe(400)

    const dave = await addMember(KEYS.dave, { member: 'fay', roles: ['developer'] })
    expect(dave.status).toBe(200)
    // bob (payments' lead) neither lists nor revokes identity's keys; an admin does both.
    expect((await list(KEYS.bob, 'identity')).status).toBe(403)
    const revoke = await post(`/members/keys/${dave.body.result!.key_id}/revoke`, KEYS.bob)
    expect([revoke.status, revoke.body.errors[0]!.code]).toEqual([404, 18360])
    const adminList = await list(KEYS.admin, 'identity')
    expect(adminList.body.result!.keys.map((k) => k.member)).toEqual(['fay'])
    // A member added to one team cannot be added to another under the same id.
    const moved = await addMember(KEYS.bob, { member: 'fay', roles: ['developer'] })
    expect([moved.status, moved.body.errors[0]!.code]).toEqual([409, 18362])
  })

  it('refuses an expired key, and refuses changes in the pinned mode', async () => {
    const key = mintKey()
    const now = Date.now()
    const answer = await coordinatedMemberKeys(env.COORDINATOR).mint({
      key_sha256: await hashKey(key),
      key_id: crypto.randomUUID(),
      member: 'erin',
      team: 'payments',
      roles: ['developer'],
      created_by: 'bob',
      created_ms: now - 10_000,
      expires_ms: now - 1,
    })
    expect(answer.outcome).toBe('minted')
    expect(await whoami(isolate(), key)).toMatchObject({ status: 401, codes: [18004] })

    const pinned = await callJson(`${GATEWAY}/members`, {
      method: 'POST',
      key: KEYS.bob,
      env: { POLICY_MODE: 'pinned' } as Partial<Env>,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ member: 'erin', roles: ['developer'] }),
    })
    expect([pinned.status, pinned.body.errors[0]!.code]).toEqual([409, 18350])
  })

  it('writes the last use at most once a minute per key', async () => {
    await runInDurableObject(gatewayInstance(), (_coordinator, state) => {
      const keys = opened(state, {}, 'memberKeys')
      keys.mint({
        key_sha256: 'a'.repeat(64),
        key_id: crypto.randomUUID(),
        member: 'erin',
        team: 'payments',
        roles: ['developer'],
        created_by: 'bob',
        created_ms: 0,
        expires_ms: 10 * LAST_USED_STEP_MS,
      })
      expect(keys.use('a'.repeat(64), 1000).key!.last_used_ms).toBe(1000)
      expect(keys.use('a'.repeat(64), 1000 + LAST_USED_STEP_MS - 1).key!.last_used_ms).toBe(1000)
      const later = 1000 + LAST_USED_STEP_MS
      expect(keys.use('a'.repeat(64), later).key!.last_used_ms).toBe(later)
      expect(keys.use('b'.repeat(64), later).key).toBeNull()
    })
  })

  it('puts every change on record, with the key id and never the key or its hash', async () => {
    let minted: Minted | undefined
    let rotated: Minted | undefined
    const entries = await newEntries(async () => {
      minted = await mintErin()
      rotated = (
        await post<Minted>(`/members/keys/${minted.key_id}/rotate`, minted.key, {
          grace_seconds: 0,
        })
      ).body.result!
      await post(`/members/keys/${rotated.key_id}/revoke`, KEYS.admin)
    })
    const changes = entries
      .filter((e) => e.key_change !== undefined)
      .sort((a, b) => a.key_change!.verb.localeCompare(b.key_change!.verb))
    expect(changes.map((e) => [e.member, e.action, e.key_change!.verb])).toEqual([
      ['bob', 'members', 'mint'],
      ['admin', 'members', 'revoke'],
      ['erin', 'members', 'rotate'],
    ])
    expect(changes[2]!.key_change).toMatchObject({
      key_id: rotated!.key_id,
      replaced_key_id: minted!.key_id,
      member: 'erin',
    })
    const text = JSON.stringify(entries)
    for (const key of [minted!.key, rotated!.key]) {
      expect(text).not.toContain(key)
      expect(text).not.toContain(await hashKey(key))
    }
    expect(text).not.toContain('mtlsgw_')
  })
})
