/**
 * The account snapshot (issue 21): reads served from the account's coordinator without upstream
 * calls, read-your-writes across isolates, outside changes seen within `max_age`, one upstream
 * list for concurrent stale readers, stale service while the upstream fails or the breaker is
 * open (marked), `Cache-Control: no-cache`, and a foreign id answered as a missing one in every
 * state of the snapshot.
 *
 * Each call spreads a fresh `env` object (support/gateway.ts `call`): another configuration and
 * lease cache, as another isolate would have. The clock is faked (kit/clock.ts) to age the
 * snapshot; nothing here times anything.
 */
import { env, runInDurableObject } from 'cloudflare:test'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { opened } from '../../src/coordinator/index'
import { configFor } from '../../src/config'
import { SYSTEM_PRINCIPAL, scopeFor } from '../../src/kernel/scope-for'
import { uuidv7 } from '../../src/lib/uuidv7'
import { readAccountSnapshot, readList } from '../../src/snapshot/serve'
import type { SnapshotPort } from '../../src/snapshot/port'
import { itemOf } from '../../src/snapshot/shapes'
import type { Upstream } from '../../src/upstream/port'
import type { NoticeStore } from '../../src/coordinator/client'
import { readAccountView } from '../../src/lifecycle/account-view'
import { fakeClock, type FakeClock } from '../kit/clock'
import { newEntries } from '../support/audit'
import { budgetInstance, grantedByTeam, resetLedger, storedOwner } from '../support/coordinator'
import { makeCertificate } from '../kit/certificates'
import { deleteOutside, emulator, seedUnowned } from '../support/emulator'
import {
  call,
  callJson,
  certificateUrl,
  certificatesUrl,
  upload,
  uploadNew,
  uploadedId,
  type CallOptions,
} from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'

const MAX_AGE_S = 30
const MAX_STALE_S = 3600

async function snapshotEnv(snapshot: Record<string, number> = {}): Promise<Partial<Env>> {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  policy.snapshot = { max_age_seconds: MAX_AGE_S, max_stale_seconds: MAX_STALE_S, ...snapshot }
  return { POLICY: JSON.stringify(policy) }
}

const account = () => env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT))

async function resetSnapshot() {
  await runInDurableObject(account(), (_c, state) => opened(state, {}, 'snapshot').forget())
}

async function resetBreaker() {
  await runInDurableObject(await budgetInstance(), (_c, state) => {
    opened(state, {}, 'budget').forget()
  })
}

let clock: FakeClock | undefined
let on: Partial<Env>

beforeEach(async () => {
  await emulator.reset()
  await resetLedger()
  await resetSnapshot()
  await resetBreaker()
  on = await snapshotEnv()
})

afterEach(() => {
  clock?.restore()
  clock = undefined
})

const as = (key: string, extra: CallOptions = {}): CallOptions => ({ key, env: on, ...extra })
const listAs = (key: string, extra: CallOptions = {}) =>
  callJson<{ id: string }[]>(certificatesUrl(), as(key, extra))
const getAs = (id: string, key: string, extra: CallOptions = {}) =>
  callJson<{ id: string }>(certificateUrl(id), as(key, extra))
const ids = (body: { result: { id: string }[] | null }) => (body.result ?? []).map((c) => c.id)

/** The upstream calls `run` caused, by method and path. */
async function upstreamCalls(run: () => Promise<unknown>): Promise<string[]> {
  await emulator.clearRequests()
  await run()
  return (await emulator.requests()).map((r) => `${r.method} ${r.path}`)
}

const LIST_PATH = `GET /client/v4/accounts/${ACCOUNT}/mtls_certificates`

/** Uploads one certificate for payments and one for identity, and warms the snapshot. */
async function warm() {
  const payments = await uploadedId({}, as(KEYS.alice))
  const identity = await uploadedId({}, as(KEYS.carol))
  const first = await listAs(KEYS.admin)
  expect(first.status).toBe(200)
  expect(first.response.headers.get('cache-status')).toMatch(/^mtls-gateway; fwd=uri-miss; stored$/)
  return { payments, identity }
}

describe('reads served from the snapshot', () => {
  it('serves many members of several teams their own view without an upstream call', async () => {
    const { payments, identity } = await warm()
    const calls = await upstreamCalls(async () => {
      for (let round = 0; round < 5; round++) {
        const alice = await listAs(KEYS.alice)
        expect(ids(alice.body)).toEqual([payments])
        expect(alice.response.headers.get('cache-status')).toMatch(/^mtls-gateway; hit; ttl=\d+$/)
        expect(Number(alice.response.headers.get('age'))).toBeGreaterThanOrEqual(0)
        expect(alice.body.result_info).toMatchObject({ count: 1, total_count: 1 })
        expect(ids((await listAs(KEYS.carol)).body)).toEqual([identity])
        expect(ids((await listAs(KEYS.admin)).body).sort()).toEqual([payments, identity].sort())
        expect((await getAs(payments, KEYS.bob)).body.result.id).toBe(payments)
        expect((await getAs(identity, KEYS.dave)).status).toBe(200)
        // Another team's certificate is not found, from the snapshot too.
        expect((await getAs(identity, KEYS.alice)).status).toBe(404)
      }
    })
    expect(calls).toEqual([])
  })

  it('answers the bytes the upstream answers, filters included', async () => {
    await uploadedId({ ca: true, name: 'root-one' }, as(KEYS.alice))
    await uploadedId({ name: 'leaf-one' }, as(KEYS.alice))
    await listAs(KEYS.admin)
    for (const query of [
      '',
      '?ca=true',
      '?ca=false',
      '?name=leaf-one',
      '?type=custom,gateway_managed',
    ]) {
      const upstream = await callJson(
        certificatesUrl() + query,
        as(KEYS.alice, { headers: { 'cache-control': 'no-cache' } }),
      )
      const served = await callJson(certificatesUrl() + query, as(KEYS.alice))
      expect(served.response.headers.get('cache-status'), query).toMatch(/hit/)
      expect(served.body, query).toEqual(upstream.body)
    }
  })

  it('answers a list encoded once with the very bytes and content type of the upstream read', async () => {
    await uploadedId({ name: 'bytes-one' }, as(KEYS.alice))
    await uploadedId({ name: 'bytes-two' }, as(KEYS.bob))
    await uploadedId({ name: 'theirs' }, as(KEYS.carol))
    const upstream = await callJson(
      certificatesUrl(),
      as(KEYS.alice, { headers: { 'cache-control': 'no-cache' } }),
    )
    // The first served read encodes the answer, the next ones reuse it (snapshot/encoded.ts).
    for (let round = 0; round < 3; round++) {
      const served = await callJson(certificatesUrl(), as(KEYS.alice))
      expect(served.response.headers.get('cache-status')).toMatch(/hit/)
      expect(served.text).toBe(upstream.text)
      expect(served.response.headers.get('content-type')).toBe(
        upstream.response.headers.get('content-type'),
      )
    }
    // A teammate's upload is in the next answer at once: new bytes, not the ones kept.
    const third = await uploadedId({ name: 'bytes-three' }, as(KEYS.alice))
    const after = await listAs(KEYS.bob)
    expect(ids(after.body)).toContain(third)
    expect(after.body.result_info).toMatchObject({ count: 3, total_count: 3 })
  })

  it('records how a read was served in its audit entry', async () => {
    await warm()
    const entries = await newEntries(async () => {
      await listAs(KEYS.alice)
    })
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'list',
        served: expect.stringMatching(/^snapshot r\d+ age \d+s$/),
      }),
    ])
  })
})

describe('read-your-writes', () => {
  it('shows an upload to every member of its team at once, without an upstream call', async () => {
    await warm()
    const id = await uploadedId({}, as(KEYS.alice))
    const calls = await upstreamCalls(async () => {
      expect(ids((await listAs(KEYS.bob)).body)).toContain(id)
      expect((await getAs(id, KEYS.bob)).status).toBe(200)
      expect(ids((await listAs(KEYS.carol)).body)).not.toContain(id)
    })
    expect(calls).toEqual([])
  })

  it('forgets a delete at once for every member', async () => {
    const { payments } = await warm()
    expect(
      (await callJson(certificateUrl(payments), as(KEYS.bob, { method: 'DELETE' }))).status,
    ).toBe(200)
    const calls = await upstreamCalls(async () => {
      expect(ids((await listAs(KEYS.alice)).body)).toEqual([])
      expect((await getAs(payments, KEYS.alice)).status).toBe(404)
      expect((await getAs(payments, KEYS.admin)).status).toBe(404)
    })
    expect(calls).toEqual([])
  })
})

describe('the ledger follows the snapshot', () => {
  it('drops the owner of a certificate deleted outside once a later list lacks it, on record', async () => {
    clock = fakeClock()
    const { payments } = await warm()
    await deleteOutside(payments)
    clock.advance(MAX_AGE_S * 1000)
    expect(ids((await listAs(KEYS.admin)).body)).not.toContain(payments)
    const entries = await newEntries(async () => {
      const calls = await upstreamCalls(async () => {
        expect((await getAs(payments, KEYS.alice)).status).toBe(404)
      })
      expect(calls).toEqual([])
    })
    expect(await storedOwner(payments)).toBeNull()
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'get',
        released: { certificate_id: payments, team: 'payments' },
      }),
    ])
  })
})

describe('freshness', () => {
  it('sees a change made outside the gateway within max_age, with one upstream list', async () => {
    clock = fakeClock()
    await warm()
    const outside = await seedUnowned()
    expect(ids((await listAs(KEYS.admin)).body)).not.toContain(outside)
    clock.advance(MAX_AGE_S * 1000)
    const calls = await upstreamCalls(async () => {
      const refreshed = await listAs(KEYS.admin)
      expect(refreshed.response.headers.get('cache-status')).toBe('mtls-gateway; fwd=stale; stored')
      expect(ids(refreshed.body)).toContain(outside)
    })
    // Issue 23 (lifecycle): the refresh found drift, which costs one page of the audit log.
    expect(calls).toEqual([LIST_PATH, `GET /client/v4/accounts/${ACCOUNT}/logs/audit`])
  })

  it('causes one upstream list for many concurrent stale readers', async () => {
    clock = fakeClock()
    await warm()
    clock.advance(MAX_AGE_S * 1000)
    await emulator.addFaults({ kind: 'latency', ms: 200, match: { method: 'GET' } })
    const readers = [KEYS.alice, KEYS.bob, KEYS.carol, KEYS.dave, KEYS.admin]
    let answers: Awaited<ReturnType<typeof listAs>>[] = []
    const calls = await upstreamCalls(async () => {
      answers = await Promise.all([...readers, ...readers].map((key) => listAs(key)))
    })
    expect(calls).toEqual([LIST_PATH])
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200))
    const statuses = answers.map((a) => a.response.headers.get('cache-status'))
    expect(statuses.filter((s) => s === 'mtls-gateway; fwd=stale; stored')).toHaveLength(1)
    expect(
      statuses.filter((s) => /; hit; ttl=-\d+; detail=revalidating$/.test(s ?? '')),
    ).toHaveLength(9)
  })

  it('causes one upstream list for many concurrent readers of a cold snapshot', async () => {
    const payments = await uploadedId({}, as(KEYS.alice))
    const identity = await uploadedId({}, as(KEYS.carol))
    await resetSnapshot()
    // The list takes a while upstream: every reader arrives while the first one is listing.
    await emulator.addFaults({ kind: 'latency', ms: 200, match: { method: 'GET' } })
    const readers = [KEYS.alice, KEYS.bob, KEYS.carol, KEYS.dave, KEYS.admin]
    let lists: Awaited<ReturnType<typeof listAs>>[] = []
    let gets: Awaited<ReturnType<typeof getAs>>[] = []
    const calls = await upstreamCalls(async () => {
      ;[lists, gets] = await Promise.all([
        Promise.all([...readers, ...readers].map((key) => listAs(key))),
        Promise.all([KEYS.alice, KEYS.bob].map((key) => getAs(payments, key))),
      ])
    })
    expect(calls).toEqual([LIST_PATH])
    expect([...lists, ...gets].map((a) => a.status)).toEqual([...lists, ...gets].map(() => 200))
    expect(ids(lists[2]!.body)).toEqual([identity])
    expect(gets.map((g) => g.body.result.id)).toEqual([payments, payments])
    const statuses = [...lists, ...gets].map((a) => a.response.headers.get('cache-status'))
    expect(statuses.filter((s) => s === 'mtls-gateway; fwd=uri-miss; stored')).toHaveLength(1)
    expect(statuses.filter((s) => /^mtls-gateway; hit; ttl=\d+$/.test(s ?? ''))).toHaveLength(11)
  })

  it('reads upstream for no-cache, as the caller, and stores what it read', async () => {
    const { payments } = await warm()
    const outside = await seedUnowned()
    const calls = await upstreamCalls(async () => {
      const fresh = await listAs(KEYS.admin, { headers: { 'cache-control': 'no-cache' } })
      expect(fresh.response.headers.get('cache-status')).toBe('mtls-gateway; fwd=request; stored')
      expect(ids(fresh.body)).toContain(outside)
      const one = await getAs(payments, KEYS.alice, {
        headers: { 'Cache-Control': 'max-age=0, no-cache' },
      })
      expect(one.response.headers.get('cache-status')).toBe('mtls-gateway; fwd=request; stored')
    })
    expect(calls).toEqual([LIST_PATH, `${LIST_PATH}/${payments}`])
    // Stored: the next reader sees the outside certificate from the snapshot.
    const served = await listAs(KEYS.admin)
    expect(served.response.headers.get('cache-status')).toMatch(/; hit;/)
    expect(ids(served.body)).toContain(outside)
  })
})

describe('what it costs and whom', () => {
  it("charges a refresh to the gateway's reserve, never to the reader's team", async () => {
    clock = fakeClock()
    await warm()
    clock.advance(MAX_AGE_S * 1000)
    const before = await grantedByTeam()
    const refreshed = await listAs(KEYS.alice)
    expect(refreshed.response.headers.get('cache-status')).toBe('mtls-gateway; fwd=stale; stored')
    const after = await grantedByTeam()
    expect(after.payments ?? 0).toBe(before.payments ?? 0)
    expect(after._gateway ?? 0).toBeGreaterThan(before._gateway ?? 0)
  })

  it('finds the holder of a duplicate upload in the snapshot, without listing upstream', async () => {
    await warm()
    const pem = (await makeCertificate({ ca: false })).pem
    await uploadedId({ certificates: pem }, as(KEYS.carol))
    const calls = await upstreamCalls(async () => {
      const refused = await upload({ ca: false, certificates: pem }, as(KEYS.alice))
      expect([refused.status, refused.body.errors[0]!.code]).toEqual([409, 18341])
    })
    expect(calls).toEqual([`POST /client/v4/accounts/${ACCOUNT}/mtls_certificates`])
  })
})

describe('associations', () => {
  const associationsOf = (id: string, key: string) =>
    callJson<{ service: string }[]>(`${certificateUrl(id)}/associations`, as(key))
  const ASSOCIATIONS = (id: string) =>
    `GET /client/v4/accounts/${ACCOUNT}/mtls_certificates/${id}/associations`

  it('are kept 10 s per certificate: one upstream read for many readers, then read again', async () => {
    clock = fakeClock()
    const { payments } = await warm()
    await emulator.setAssociations(payments, [{ service: 'gateway', status: 'active' }])
    const calls = await upstreamCalls(async () => {
      for (const key of [KEYS.alice, KEYS.bob, KEYS.alice]) {
        const read = await associationsOf(payments, key)
        expect(read.status).toBe(200)
        expect(read.body.result).toEqual([{ service: 'gateway', status: 'active' }])
      }
    })
    expect(calls).toEqual([ASSOCIATIONS(payments)])
    clock.advance(10_000)
    await emulator.setAssociations(payments, [])
    const again = await upstreamCalls(async () => {
      expect((await associationsOf(payments, KEYS.bob)).body.result).toEqual([])
    })
    expect(again).toEqual([ASSOCIATIONS(payments)])
  })

  it('carry Age and Cache-Status as lists and gets do, and their entry says how', async () => {
    clock = fakeClock()
    const { payments } = await warm()
    const headers = (read: { response: Response }) => ({
      status: read.response.headers.get('cache-status'),
      age: read.response.headers.get('age'),
    })
    const first = await associationsOf(payments, KEYS.alice)
    expect(headers(first)).toEqual({ status: 'mtls-gateway; fwd=uri-miss; stored', age: '0' })
    clock.advance(4_000)
    const entries = await newEntries(async () => {
      const cached = await associationsOf(payments, KEYS.bob)
      expect(headers(cached)).toEqual({ status: 'mtls-gateway; hit; ttl=6', age: '4' })
    })
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'associations',
        served: expect.stringMatching(/^snapshot r\d+ age 4s$/),
      }),
    ])
    // Expired, and another reader holds the fetch: served the expired ones, marked.
    clock.advance(8_000)
    await runInDurableObject(account(), (_c, state) => {
      opened(state, {}, 'snapshot').associations(payments, 10_000, 30_000, Date.now())
    })
    const stale = await upstreamCalls(async () => {
      const read = await associationsOf(payments, KEYS.alice)
      expect(headers(read)).toEqual({
        status: 'mtls-gateway; hit; ttl=-2; detail=revalidating',
        age: '12',
      })
    })
    expect(stale).toEqual([])
  })

  it('are never what a delete checks: it asks the upstream', async () => {
    const { payments } = await warm()
    expect((await associationsOf(payments, KEYS.bob)).body.result).toEqual([])
    await emulator.setAssociations(payments, [{ service: 'gateway', status: 'active' }])
    const refused = await callJson(certificateUrl(payments), as(KEYS.bob, { method: 'DELETE' }))
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([400, 18302])
    expect(ids((await listAs(KEYS.bob)).body)).toContain(payments)
  })

  it('of a foreign id and a missing one are answered alike, with no upstream call', async () => {
    const { identity } = await warm()
    const missing = '0badbeef' + 'f'.repeat(24)
    const answers = []
    for (const id of [identity, missing]) {
      let status = 0
      let body = ''
      const calls = await upstreamCalls(async () => {
        const answer = await call(`${certificateUrl(id)}/associations`, as(KEYS.alice))
        status = answer.status
        body = await answer.text()
      })
      answers.push({ status, body, calls })
    }
    expect(answers[0]).toEqual({ status: 404, body: answers[1]!.body, calls: [] })
    expect(answers[0]).toEqual(answers[1])
  })
})

describe('a job reads the snapshot (issue 23: readAccountSnapshot, the refreshed hook)', () => {
  it('refreshes a cold snapshot as the system principal, calls the hook, then reads it as held', async () => {
    const id = await uploadedId({}, as(KEYS.alice))
    const seen: { previous: number | null; current: string[] }[] = []
    const jobEnv: Env = { ...env, ...on }
    const scope = () => {
      const built = scopeFor({
        env: jobEnv,
        config: configFor(jobEnv),
        principal: SYSTEM_PRINCIPAL,
        requestId: uuidv7(),
      })
      // In the place of drift (lifecycle/drift-record.ts): what each refresh hands on.
      built.snapshot!.refreshed = async (_account, previous, current) => {
        seen.push({
          previous: previous?.fetchedAtMs ?? null,
          current: current.certificates.map((c) => c.id),
        })
      }
      return built
    }
    const calls = await upstreamCalls(async () => {
      const first = await readAccountSnapshot(scope(), ACCOUNT)
      expect(first.certificates.map((c) => c.id)).toEqual([id])
      const again = await readAccountSnapshot(scope(), ACCOUNT)
      expect(again.revision).toBe(first.revision)
    })
    expect(calls).toEqual([LIST_PATH])
    expect(seen).toEqual([{ previous: null, current: [id] }])
  })
})

describe('stale rather than down', () => {
  it('serves the last snapshot, marked, while the upstream fails; an upload still fails', async () => {
    clock = fakeClock()
    const { payments } = await warm()
    clock.advance(MAX_AGE_S * 1000 + 5_000)
    await emulator.addFaults({ kind: 'status', status: 503, times: 100 })
    const list = await listAs(KEYS.alice)
    expect(list.status).toBe(200)
    expect(ids(list.body)).toEqual([payments])
    expect(list.response.headers.get('cache-status')).toMatch(
      /^mtls-gateway; hit; ttl=-\d+; detail=upstream-unavailable$/,
    )
    expect(Number(list.response.headers.get('age'))).toBeGreaterThanOrEqual(MAX_AGE_S)
    // Whoever comes next within the claim is served stale without another attempt.
    const get = await getAs(payments, KEYS.bob)
    expect(get.status).toBe(200)
    expect(get.response.headers.get('cache-status')).toMatch(/; hit; ttl=-\d+; detail=/)
    // A mutation is never answered from the snapshot: it fails as the upstream fails.
    const refused = await uploadNew({}, as(KEYS.alice))
    expect(refused.status).toBe(502)
  })

  it('answers the failure once the snapshot is older than max_stale', async () => {
    clock = fakeClock()
    await warm()
    clock.advance(MAX_STALE_S * 1000 + 1_000)
    await emulator.addFaults({ kind: 'status', status: 503, times: 100 })
    const list = await listAs(KEYS.alice)
    expect(list.status).toBe(502)
  })

  it('serves the last snapshot while the breaker is open', async () => {
    clock = fakeClock()
    const { payments } = await warm()
    clock.advance(MAX_AGE_S * 1000 + 1_000)
    const at = await budgetInstance()
    await at.tripBreaker(Date.now() + 600_000, Date.now())
    const calls = await upstreamCalls(async () => {
      const list = await listAs(KEYS.alice)
      expect(list.status).toBe(200)
      expect(ids(list.body)).toEqual([payments])
      expect(list.response.headers.get('cache-status')).toMatch(/detail=upstream-unavailable$/)
    })
    expect(calls).toEqual([])
  })
})

describe('a foreign id and a missing id', () => {
  const IGNORED = new Set(['date', 'x-request-id', 'cf-ray'])
  const shape = async (response: Response) => ({
    status: response.status,
    headers: [...response.headers].filter(([name]) => !IGNORED.has(name)),
    body: await response.text(),
  })

  /** The refresh claim a failed refresh leaves until it lapses, released. */
  const releaseClaim = () =>
    runInDurableObject(account(), (_c, state) => {
      state.storage.sql.exec('UPDATE snapshot_meta SET claim = NULL, claim_until_ms = 0')
    })

  /** Both ids read alike, `each` putting the snapshot in the state under test before each. */
  async function compare(foreign: string, each: () => Promise<void> = async () => {}) {
    const missing = '0badbeef' + 'f'.repeat(24)
    const answers = []
    for (const id of [foreign, missing]) {
      await each()
      let answer: Awaited<ReturnType<typeof shape>> | undefined
      const calls = await upstreamCalls(async () => {
        answer = await shape(await call(certificateUrl(id), as(KEYS.alice)))
      })
      answers.push({ answer, calls: calls.map((c) => c.replace(id, '{id}')) })
    }
    expect(answers[0]!.answer!.status).toBe(404)
    expect(answers[0]).toEqual(answers[1])
    return answers[0]!
  }

  it('are the same when the snapshot is fresh', async () => {
    const { identity } = await warm()
    const seen = await compare(identity)
    expect(seen.calls).toEqual([])
  })

  it('are the same when it is stale and the reader refreshes it', async () => {
    clock = fakeClock()
    const { identity } = await warm()
    const seen = await compare(identity, async () => clock!.advance(MAX_AGE_S * 1000))
    expect(seen.calls).toEqual([LIST_PATH])
    expect(seen.answer!.headers).toContainEqual(['cache-status', 'mtls-gateway; fwd=stale; stored'])
  })

  it('are the same when it is stale and another reader refreshes it', async () => {
    clock = fakeClock()
    const { identity } = await warm()
    clock.advance(MAX_AGE_S * 1000)
    // Another reader holds the refresh claim (it is listing upstream).
    await runInDurableObject(account(), (_c, state) => {
      const settings = {
        maxAgeMs: MAX_AGE_S * 1000,
        maxStaleMs: MAX_STALE_S * 1000,
        claimMs: 60_000,
      }
      expect(opened(state, {}, 'snapshot').view(settings, Date.now()).claim).not.toBeNull()
    })
    const seen = await compare(identity)
    expect(seen.calls).toEqual([])
    expect(seen.answer!.headers).toContainEqual([
      'cache-status',
      `mtls-gateway; hit; ttl=-1; detail=revalidating`,
    ])
  })

  it('are the same when it is stale and the upstream fails (served stale, marked)', async () => {
    clock = fakeClock()
    const { identity } = await warm()
    clock.advance(MAX_AGE_S * 1000)
    await emulator.addFaults({ kind: 'status', status: 503, times: 100 })
    // Each read is granted the refresh, which fails: the claim a failed refresh leaves (held
    // until it lapses) and the breaker the failures may open are cleared between the two.
    const seen = await compare(identity, async () => {
      await releaseClaim()
      await resetBreaker()
    })
    expect(seen.answer!.status).toBe(404)
    expect(seen.answer!.headers).toContainEqual([
      'cache-status',
      expect.stringMatching(/^mtls-gateway; hit; ttl=-\d+; detail=upstream-unavailable$/),
    ])
  })

  it('are the same while the breaker is open (no upstream call)', async () => {
    clock = fakeClock()
    const { identity } = await warm()
    clock.advance(MAX_AGE_S * 1000 + 1_000)
    const at = await budgetInstance()
    await at.tripBreaker(Date.now() + 600_000, Date.now())
    // Each read is granted the refresh, which the open breaker refuses without an upstream call.
    const seen = await compare(identity, releaseClaim)
    expect(seen.calls).toEqual([])
    expect(seen.answer!.headers).toContainEqual([
      'cache-status',
      expect.stringMatching(/^mtls-gateway; hit; ttl=-\d+; detail=upstream-unavailable$/),
    ])
  })

  it('are the same when it is cold', async () => {
    const identity = await uploadedId({}, as(KEYS.carol))
    await resetSnapshot()
    const foreign = await shape(await call(certificateUrl(identity), as(KEYS.alice)))
    await resetSnapshot()
    const missing = await shape(
      await call(certificateUrl('0badbeef' + 'f'.repeat(24)), as(KEYS.alice)),
    )
    expect(foreign.status).toBe(404)
    expect(foreign).toEqual(missing)
  })
})

describe('a list this isolate holds', () => {
  // The port as a reader sees it, over a real table: what each list call says it holds, and how
  // many items the coordinator sent back.
  function countingPort() {
    const asked: { held: string | undefined; sent: number }[] = []
    const settings = { maxAgeMs: MAX_AGE_S * 1000, maxStaleMs: MAX_STALE_S * 1000, claimMs: 12_000 }
    const port = {
      settings,
      list: (_accountId: string, held?: string) =>
        runInDurableObject(account(), (_c, state) => {
          const view = opened(state, {}, 'snapshot').view(settings, Date.now(), undefined, held)
          asked.push({ held, sent: view.items.length })
          return { owners: new Map<string, string>(), intents: [], view }
        }),
    } as unknown as SnapshotPort
    return { port, asked }
  }

  it('is not sent again while unchanged, and is replaced by the next change', async () => {
    const stored = (ids: string[]) =>
      runInDurableObject(account(), (_c, state) => {
        const table = opened(state, {}, 'snapshot')
        const items = ids.map((id) => itemOf({ id, name: id, ca: false, type: 'custom' }))
        table.store(
          table.view(countingPort().port.settings, Date.now()).claim,
          Date.now(),
          '{}',
          items,
        )
      })
    await stored(['a', 'b'])
    const { port, asked } = countingPort()
    const upstream = {} as Upstream // a fresh snapshot is never refreshed: no upstream call
    const read = async () =>
      (await readList(port, upstream, ACCOUNT, false)).served!.certificates.map((c) => c.id)
    expect(await read()).toEqual(['a', 'b'])
    expect(await read()).toEqual(['a', 'b'])
    await runInDurableObject(account(), (_c, state) => {
      opened(state, {}, 'snapshot').remove('a', Date.now())
    })
    expect(await read()).toEqual(['b'])
    expect(asked.map((a) => a.sent)).toEqual([2, 0, 1])
    expect(asked[1]!.held).toBe(asked[2]!.held)
    expect(asked[1]!.held).toMatch(/^[0-9a-f-]{36}:\d+$/)
  })
})

describe('the lists an isolate holds', () => {
  it('are bounded by their items, the oldest account let go first', async () => {
    const asked: [string, string | undefined][] = []
    const settings = { maxAgeMs: 60_000, maxStaleMs: 60_000, claimMs: 12_000 }
    const sizes: Record<string, number> = { big: 15_000, other: 6_000 }
    const port = {
      settings,
      list: (accountId: string, held?: string) => {
        asked.push([accountId, held])
        const items = Array.from({ length: sizes[accountId]! }, (_, i) =>
          itemOf({ id: `${accountId}-${i}`, type: 'custom' }),
        )
        const view = {
          state: 'fresh',
          revision: 1,
          epoch: `epoch-${accountId}`,
          fetchedAtMs: Date.now(),
          frame: null,
          items,
          claim: null,
          revalidating: false,
        }
        return Promise.resolve({ owners: new Map(), intents: [], view })
      },
    } as unknown as SnapshotPort
    for (const accountId of ['big', 'big', 'other', 'big']) {
      await readList(port, {} as Upstream, accountId, false)
    }
    // 15,000 + 6,000 is over the 20,000 held: taking the other's list let the big one go.
    expect(asked).toEqual([
      ['big', undefined],
      ['big', 'epoch-big:1'],
      ['other', undefined],
      ['big', undefined],
    ])
  })
})

describe('the expiring list and the calendar (issue 23: readAccountView)', () => {
  it('are not sent a list this isolate holds either, and see the next change', async () => {
    const settings = { maxAgeMs: MAX_AGE_S * 1000, maxStaleMs: MAX_STALE_S * 1000, claimMs: 12_000 }
    await runInDurableObject(account(), (_c, state) => {
      const table = opened(state, {}, 'snapshot')
      const items = ['x', 'y'].map((id) => itemOf({ id, name: id, ca: false, type: 'custom' }))
      table.store(table.view(settings, Date.now()).claim, Date.now(), '{}', items)
    })
    const sent: number[] = []
    const notices = {
      view: (_accountId: string, s: typeof settings, held?: string) =>
        runInDurableObject(account(), (coordinator) => {
          const answer = coordinator.lifecycleView(s, Date.now(), held)
          sent.push(answer.view?.items.length ?? -1)
          return answer
        }),
    } as unknown as NoticeStore
    const deps = {
      upstream: {} as Upstream, // a fresh snapshot: nothing is listed upstream
      snapshot: { settings } as unknown as SnapshotPort,
      lifecycle: { notices },
    }
    const ids = async () =>
      (await readAccountView(deps, ACCOUNT)).certificates.map((c) => c.id).sort()
    expect(await ids()).toEqual(['x', 'y'])
    expect(await ids()).toEqual(['x', 'y'])
    await runInDurableObject(account(), (_c, state) => {
      opened(state, {}, 'snapshot').remove('y', Date.now())
    })
    expect(await ids()).toEqual(['x'])
    expect(sent).toEqual([2, 0, 1])
  })
})
