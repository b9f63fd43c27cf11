/**
 * Who may do what to which certificate: every role x every action x own / another team's /
 * unowned certificate x an extra deny rule enforced or only shadowed. Expectations are written out
 * by hand below. Every refusal is also checked against the emulator's request log: the refused
 * operation never reached the upstream.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { emulator, seedUnowned } from '../support/emulator'
import {
  callJson,
  certificateUrl,
  certificatesUrl,
  uploadNew,
  uploadedId,
} from '../support/gateway'
import { ACCOUNT, KEYS, RULES } from '../support/identities'
import { policyWith } from '../support/policies'

type Caller = 'alice' | 'bob' | 'admin' | 'auditor'
type Target = 'own' | 'other' | 'unowned'
type Action = 'list' | 'get' | 'associations' | 'delete' | 'upload'

/** Who uploads a certificate "owned by the caller's team" and one "owned by another team". */
const UPLOADER: Record<Caller, { own: keyof typeof KEYS; other: keyof typeof KEYS }> = {
  alice: { own: 'bob', other: 'dave' },
  bob: { own: 'alice', other: 'dave' },
  admin: { own: 'admin2', other: 'bob' },
  auditor: { own: 'admin', other: 'bob' },
}

/** The answer (status) for each caller, action and target under the suite's rules. */
const EXPECTED: Record<
  Caller,
  Record<Exclude<Action, 'upload' | 'list'>, Record<Target, number>> & { upload: number }
> = {
  alice: {
    get: { own: 200, other: 404, unowned: 404 },
    associations: { own: 200, other: 404, unowned: 404 },
    delete: { own: 403, other: 404, unowned: 404 },
    upload: 200,
  },
  bob: {
    get: { own: 200, other: 404, unowned: 404 },
    associations: { own: 200, other: 404, unowned: 404 },
    delete: { own: 200, other: 404, unowned: 404 },
    upload: 200,
  },
  admin: {
    get: { own: 200, other: 200, unowned: 200 },
    associations: { own: 200, other: 200, unowned: 200 },
    delete: { own: 200, other: 200, unowned: 200 },
    upload: 200,
  },
  // Issue 22: the auditor sees every certificate (list, get), read-only: a certificate it sees
  // answers 403 to what it may not do, never 404.
  auditor: {
    get: { own: 200, other: 200, unowned: 200 },
    associations: { own: 403, other: 403, unowned: 403 },
    delete: { own: 403, other: 403, unowned: 403 },
    upload: 403,
  },
}
/** Which targets each caller's list shows (and 403 for a caller who may not list at all). */
const LISTED: Record<Caller, Target[] | 403> = {
  alice: ['own'],
  bob: ['own'],
  admin: ['own', 'other', 'unowned'],
  auditor: ['own', 'other', 'unowned'],
}

/** The extra rule: the payments team is frozen. Enforced, it refuses payments members everything. */
const FREEZE = {
  id: 'freeze-payments',
  description: 'Payments is frozen during the migration',
  effect: 'deny',
  actions: ['list', 'get', 'associations', 'delete', 'upload'],
  subjects: { teams: ['payments'] },
}
const FROZEN = new Set<Caller>(['alice', 'bob'])
const frozenStatus = (action: Action) => (action === 'list' || action === 'upload' ? 403 : 404)

let policies: Record<'enforce' | 'shadow', string>
beforeAll(async () => {
  policies = {
    enforce: await policyWith([...RULES, FREEZE]),
    shadow: await policyWith([...RULES, { ...FREEZE, mode: 'shadow' }]),
  }
})

beforeEach(async () => {
  await emulator.reset()
})

function certificateFor(caller: Caller, target: Target): Promise<string> {
  if (target === 'unowned') return seedUnowned()
  return uploadedId({}, { key: KEYS[UPLOADER[caller][target]] })
}

const requestFor = (action: Action, id: string) =>
  ({
    list: {
      url: certificatesUrl(),
      method: 'GET',
      path: `/client/v4/accounts/${ACCOUNT}/mtls_certificates`,
    },
    get: {
      url: certificateUrl(id),
      method: 'GET',
      path: `/client/v4/accounts/${ACCOUNT}/mtls_certificates/${id}`,
    },
    associations: {
      url: `${certificateUrl(id)}/associations`,
      method: 'GET',
      path: `/client/v4/accounts/${ACCOUNT}/mtls_certificates/${id}/associations`,
    },
    delete: {
      url: certificateUrl(id),
      method: 'DELETE',
      path: `/client/v4/accounts/${ACCOUNT}/mtls_certificates/${id}`,
    },
  })[action as 'get']

async function expectNotForwarded(method: string, path: string, since: number) {
  const after = (await emulator.requests()).slice(since)
  expect(after.filter((r) => r.method === method && r.path === path)).toEqual([])
}

const CALLERS: Caller[] = ['alice', 'bob', 'admin', 'auditor']
const TARGETS: Target[] = ['own', 'other', 'unowned']

describe.each(['enforce', 'shadow'] as const)('with the freeze rule in %s mode', (mode) => {
  const frozen = (caller: Caller) => mode === 'enforce' && FROZEN.has(caller)

  describe.each(CALLERS)('%s', (caller) => {
    it.each(
      (['get', 'associations', 'delete'] as const).flatMap((action) =>
        TARGETS.map((target) => [action, target] as const),
      ),
    )('%s on a %s certificate', async (action, target) => {
      const id = await certificateFor(caller, target)
      const expected = frozen(caller) ? frozenStatus(action) : EXPECTED[caller][action][target]
      const { url, method, path } = requestFor(action, id)
      const before = (await emulator.requests()).length
      const { status, body } = await callJson(url, {
        method,
        key: KEYS[caller],
        env: { POLICY: policies[mode] },
      })
      expect(status).toBe(expected)
      if (expected === 200) {
        expect(body.success).toBe(true)
      } else {
        expect(body).toMatchObject({ success: false, result: null })
        expect(body.errors[0]!.code).toBe(expected === 404 ? 1472 : 18301)
        await expectNotForwarded(method, path, before)
      }
    })

    it('upload', async () => {
      const expected = frozen(caller) ? 403 : EXPECTED[caller].upload
      const { status, body } = await uploadNew(
        {},
        { key: KEYS[caller], env: { POLICY: policies[mode] } },
      )
      expect(status).toBe(expected)
      if (expected !== 200) {
        expect(body.errors[0]!.code).toBe(18301)
        expect((await emulator.requests()).filter((r) => r.method === 'POST')).toEqual([])
      }
    })

    it('list shows exactly what the caller may see, with matching counts', async () => {
      const ids = Object.fromEntries(
        await Promise.all(TARGETS.map(async (t) => [t, await certificateFor(caller, t)] as const)),
      )
      const before = (await emulator.requests()).length
      const { status, body } = await callJson<{ id: string }[]>(certificatesUrl(), {
        key: KEYS[caller],
        env: { POLICY: policies[mode] },
      })
      const listed = frozen(caller) ? 403 : LISTED[caller]
      if (listed === 403) {
        expect(status).toBe(403)
        expect(body.errors[0]!.code).toBe(18301)
        await expectNotForwarded('GET', `/client/v4/accounts/${ACCOUNT}/mtls_certificates`, before)
        return
      }
      expect(status).toBe(200)
      expect(body.result.map((c) => c.id).sort()).toEqual(listed.map((t) => ids[t]).sort())
      expect(body.result_info).toMatchObject({ count: listed.length, total_count: listed.length })
    })
  })
})

describe('beyond the matrix', () => {
  it('a lead deleting a CA certificate gets a pending approval, not a delete', async () => {
    const id = await uploadedId({ ca: true }, { key: KEYS.alice })
    const parked = await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    expect([parked.status, parked.body.success, parked.body.errors[0]?.code]).toEqual([
      403,
      false,
      18309,
    ])
    expect((await emulator.requests()).filter((r) => r.method === 'DELETE')).toEqual([])
  })

  it('refuses an account outside the caller team as if it did not exist', async () => {
    const other = 'fedcba9876543210fedcba9876543210'
    const { status, body } = await callJson(certificatesUrl(other), { key: KEYS.alice })
    expect(status).toBe(404)
    expect(body.errors[0]!.code).toBe(18404)
    const get = await callJson(certificateUrl(crypto.randomUUID(), other), { key: KEYS.alice })
    expect(get.status).toBe(404)
    expect(get.body.errors[0]!.code).toBe(1472)
    expect(await emulator.requests()).toEqual([])
  })

  it('denies everything under a policy without rules (default deny)', async () => {
    const policy = await policyWith([])
    expect(
      (await callJson(certificatesUrl(), { key: KEYS.admin, env: { POLICY: policy } })).status,
    ).toBe(403)
    expect((await uploadNew({}, { key: KEYS.admin, env: { POLICY: policy } })).status).toBe(403)
    expect(await emulator.requests()).toEqual([])
  })

  it('says which rule denied, and that an enforced deny beats the allow', async () => {
    const policy = await policyWith([...RULES, FREEZE])
    const { body } = await callJson(certificatesUrl(), { key: KEYS.alice, env: { POLICY: policy } })
    expect(body.errors[0]!.message).toBe('Denied by policy: list denied by freeze-payments')
  })
})
