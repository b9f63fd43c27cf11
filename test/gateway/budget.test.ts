/**
 * The shared token's budget and breaker, decided by the coordinator for every isolate: teams
 * flooding at once never push the token into the upstream's lockout, each gets its share, admins
 * keep a reserve, an upstream 429 holds everyone, and a refused request costs no upstream call.
 *
 * A request sent through `fetchAs` reuses one `env` object, so one configuration and one lease
 * cache: that is one isolate, leases and all. Passing another `env` object is another isolate.
 */
import {
  createExecutionContext,
  env,
  runInDurableObject,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { fakeClock, type FakeClock } from '../kit/clock'
import { newEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { GATEWAY, callJson, certificateUrl, certificatesUrl } from '../support/gateway'
import { budgetInstance, grantedByTeam, unreachableCoordinator } from '../support/coordinator'
import { KEYS, RULES } from '../support/identities'
import { MAX_BREAKER_MS } from '../../src/coordinator/leases'
import { policyWith } from '../support/policies'

beforeEach(async () => {
  await emulator.reset()
})

/** The auditor lists its team's certificates too, so that three teams can flood. */
const RULES_WITH_AUDITOR_LISTING = [
  ...RULES,
  {
    id: 'auditors-list-own',
    description: 'Auditors list their team certificates',
    effect: 'allow',
    actions: ['list'],
    subjects: { roles: ['auditor'] },
  },
]

/**
 * 100 requests per window upstream; the gateway's cap is 90, 9 of them held for admins, and the
 * 81 left split in three shares of 27 (unless `budget` says otherwise).
 */
async function isolateWith(
  budget: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) {
  const policy = JSON.parse(await policyWith(RULES_WITH_AUDITOR_LISTING)) as Record<string, unknown>
  policy.budget = { upstream_requests: 100, ...budget }
  Object.assign(policy, extra)
  return { ...env, POLICY: JSON.stringify(policy) } as Env
}

async function fetchAs(isolate: Env, key: string, url = certificatesUrl(), method = 'GET') {
  const ctx = createExecutionContext()
  const response = await worker.fetch(
    new Request(url, { method, headers: { authorization: `Bearer ${key}` } }),
    isolate,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  const body = (await response.json()) as { errors: { code: number }[] }
  return { status: response.status, code: body.errors[0]?.code, headers: response.headers, body }
}

const upstreamCalls = async () => (await emulator.requests()).length

describe('three teams flooding at once', () => {
  it('keeps the token under its cap, serves each team at least half its share, and leaves the reserve', async () => {
    // The emulator enforces Cloudflare's limit itself: going over would lock the token (971).
    await emulator.setLimits({ requests_per_window: 100, window_seconds: 300 })
    const isolate = await isolateWith()
    const flood = async (key: string, requests: number, concurrency: number) => {
      const answers: Awaited<ReturnType<typeof fetchAs>>[] = []
      const worker = async () => {
        while (answers.length < requests) {
          answers.push(await fetchAs(isolate, key))
        }
      }
      await Promise.all(Array.from({ length: concurrency }, worker))
      return answers
    }
    const [payments, identity, platform] = await Promise.all([
      flood(KEYS.alice, 60, 6),
      flood(KEYS.carol, 60, 6),
      flood(KEYS.auditor, 60, 6),
    ])

    const served = (answers: { status: number }[]) => answers.filter((a) => a.status === 200).length
    const received = await upstreamCalls()
    const counts = {
      payments: served(payments),
      identity: served(identity),
      platform: served(platform),
    }
    // Every refusal is the gateway's own 429 with a retry-after, never the upstream's lockout.
    for (const answer of [...payments, ...identity, ...platform]) {
      if (answer.status === 200) continue
      expect([answer.status, answer.code]).toEqual([429, 18429])
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0)
    }
    expect(received).toBe(counts.payments + counts.identity + counts.platform)
    expect(received).toBeLessThanOrEqual(81)
    for (const count of Object.values(counts)) expect(count).toBeGreaterThanOrEqual(14)
    // What the coordinator granted covers every call (leases may hold a few unused).
    const granted = await grantedByTeam()
    for (const [team, count] of Object.entries(counts)) {
      expect(granted[team]).toBeGreaterThanOrEqual(count)
    }

    // The admin is served from the reserve while every team is refused.
    expect((await fetchAs(isolate, KEYS.admin)).status).toBe(200)
    expect((await fetchAs(isolate, KEYS.bob)).code).toBe(18429)
    // 180 requests from 18 connections: seconds on a loaded 2-core machine.
  }, 30_000)

  it('lends an idle team its share, but keeps half of it for when it wakes up', async () => {
    const isolate = await isolateWith()
    let served = 0
    while ((await fetchAs(isolate, KEYS.alice)).status === 200) served++
    // 27 of its own, plus half of identity's and platform's unused shares (14 + 14 kept).
    expect(served).toBe(81 - 14 - 14)
    let carol = 0
    while ((await fetchAs(isolate, KEYS.carol)).status === 200) carol++
    expect(carol).toBeGreaterThanOrEqual(14)
  })
})

describe('a refused request', () => {
  it('costs no upstream call, and says when to come back', async () => {
    const isolate = await isolateWith({ teams: { payments: { requests: 2 } } })
    // payments' share is 2; it may borrow until half of every other share is all that is left.
    let served = 0
    while ((await fetchAs(isolate, KEYS.alice)).status === 200) served++
    const before = await upstreamCalls()
    const refused = await fetchAs(isolate, KEYS.alice)
    expect([refused.status, refused.code]).toEqual([429, 18429])
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(301)
    expect(await upstreamCalls()).toBe(before)
    expect(served).toBeGreaterThanOrEqual(2)
  })

  it('holds a member to its per-member limit while the rest of the team is served', async () => {
    const isolate = await isolateWith({ teams: { payments: { member_requests: 3 } } })
    for (let i = 0; i < 3; i++) expect((await fetchAs(isolate, KEYS.alice)).status).toBe(200)
    expect((await fetchAs(isolate, KEYS.alice)).code).toBe(18429)
    expect((await fetchAs(isolate, KEYS.bob)).status).toBe(200)
  })

  it('shows in whoami: what the team and the member used, and what is left', async () => {
    const isolate = await isolateWith()
    for (let i = 0; i < 4; i++) await fetchAs(isolate, KEYS.alice)
    const whoami = await fetchAs(isolate, KEYS.bob, `${GATEWAY}/whoami`)
    const budget = (whoami.body as unknown as { result: { budget: Record<string, unknown> } })
      .result.budget
    expect(budget).toMatchObject({
      window_seconds: 300,
      token: { cap: 90, reserve: 9, reserve_used: 0 },
      team: { share: 27 },
      member: { limit: null, used: 0 },
      breaker: { open: false },
    })
    const team = budget.team as { used: number; available: number }
    // Leases may hold a request or two more than were sent.
    expect(team.used).toBeGreaterThanOrEqual(4)
    expect(team.available).toBe(81 - team.used - 14 - 14)
  })
})

describe('the breaker', () => {
  it('opens for every isolate when the upstream answers 429, until its retry-after', async () => {
    await emulator.addFaults({ kind: 'rate_limit', retry_after: 120 })
    const first = await fetchAs(await isolateWith(), KEYS.alice)
    // The request that met it gets the upstream's answer, relayed.
    expect([first.status, first.code, first.headers.get('retry-after')]).toEqual([429, 971, '120'])
    const before = await upstreamCalls()

    // Another isolate, another team: held by the gateway, nothing sent.
    const elsewhere = await fetchAs(await isolateWith(), KEYS.carol)
    expect([elsewhere.status, elsewhere.code]).toEqual([429, 18430])
    expect(Number(elsewhere.headers.get('retry-after'))).toBeGreaterThan(110)
    expect(Number(elsewhere.headers.get('retry-after'))).toBeLessThanOrEqual(120)
    expect((await fetchAs(await isolateWith(), KEYS.admin)).code).toBe(18430)
    expect(await upstreamCalls()).toBe(before)

    const whoami = await callJson<{ budget: { breaker: { open: boolean } } }>(`${GATEWAY}/whoami`, {
      key: KEYS.carol,
    })
    expect(whoami.body.result.budget.breaker.open).toBe(true)
  })

  it('closes again once retry-after has passed', async () => {
    await emulator.addFaults({ kind: 'rate_limit', retry_after: 1, times: 1 })
    const isolate = await isolateWith({}, {})
    // GETs retry a short 429 after waiting it out: by then the breaker has closed.
    expect((await fetchAs(isolate, KEYS.alice)).status).toBe(200)
    expect((await fetchAs(await isolateWith(), KEYS.carol)).status).toBe(200)
  })
})

describe('the breaker bounded', () => {
  it('holds at most 300 s after a 429 whose retry-after is a day, in every isolate', async () => {
    expect(MAX_BREAKER_MS).toBe(300_000)
    await emulator.addFaults({ kind: 'rate_limit', retry_after: 86_400 })
    const first = await fetchAs(await isolateWith(), KEYS.alice)
    expect([first.status, first.code]).toEqual([429, 971])

    // The isolate that heard the 429, and another one that asks the coordinator.
    for (const [isolate, key] of [
      [await isolateWith(), KEYS.carol],
      [await isolateWith(), KEYS.admin],
    ] as const) {
      const held = await fetchAs(isolate, key)
      expect([held.status, held.code]).toEqual([429, 18430])
      expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(290)
      expect(Number(held.headers.get('retry-after'))).toBeLessThanOrEqual(300)
    }
    const whoami = await callJson<{ budget: { breaker: { retry_after_seconds: number } } }>(
      `${GATEWAY}/whoami`,
      { key: KEYS.carol },
    )
    expect(whoami.body.result.budget.breaker.retry_after_seconds).toBeGreaterThan(290)
    expect(whoami.body.result.budget.breaker.retry_after_seconds).toBeLessThanOrEqual(300)
  })

  it('is capped by the coordinator itself, and a day stored before the cap is cut back when read', async () => {
    const at = await budgetInstance()
    await at.tripBreaker(Date.now() + 86_400_000, Date.now())
    const view = async () =>
      (
        await callJson<{ budget: { breaker: { retry_after_seconds: number } } }>(
          `${GATEWAY}/whoami`,
          { key: KEYS.carol },
        )
      ).body.result.budget.breaker.retry_after_seconds
    expect(await view()).toBeLessThanOrEqual(300)
    await runInDurableObject(at, (_coordinator, state) => {
      state.storage.sql.exec('UPDATE breaker SET open_until_ms = ?', Date.now() + 86_400_000)
    })
    expect(await view()).toBeLessThanOrEqual(300)
    const held = await fetchAs(await isolateWith(), KEYS.carol)
    expect(Number(held.headers.get('retry-after'))).toBeLessThanOrEqual(300)
  })
})

describe('closing the breaker', () => {
  const CLOSE = `${GATEWAY}/budget/breaker/close`
  let clock: FakeClock | undefined

  afterEach(() => {
    clock?.restore()
    clock = undefined
  })

  /** Opens the breaker through an upstream 429 heard by `isolate`. */
  async function trip(isolate: Env) {
    await emulator.addFaults({ kind: 'rate_limit', retry_after: 86_400 })
    expect((await fetchAs(isolate, KEYS.alice)).status).toBe(429)
  }

  it('lets an admin close it: the next request of another team goes upstream, on record', async () => {
    await trip(await isolateWith())
    const before = await upstreamCalls()
    let closed: Awaited<ReturnType<typeof fetchAs>> | undefined
    const entries = await newEntries(async () => {
      closed = await fetchAs(await isolateWith(), KEYS.admin, CLOSE, 'POST')
    })
    expect(closed!.status).toBe(200)
    expect(closed!.body).toMatchObject({ success: true, result: { was_open: true } })
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({
      action: 'breaker',
      member: 'admin',
      decision: { effect: 'allow', rule_ids: ['admins-everything'] },
      outcome: { status: 200 },
    })

    const carol = await fetchAs(await isolateWith(), KEYS.carol)
    expect(carol.status).toBe(200)
    expect(await upstreamCalls()).toBe(before + 1)
    const whoami = await callJson<{ budget: { breaker: { open: boolean } } }>(`${GATEWAY}/whoami`, {
      key: KEYS.carol,
    })
    expect(whoami.body.result.budget.breaker).toEqual({ open: false, retry_after_seconds: 0 })
  })

  it('reaches the isolate that tripped it within 5 s, without a day-long note', async () => {
    clock = fakeClock()
    const isolate = await isolateWith()
    await trip(isolate)
    expect((await fetchAs(await isolateWith(), KEYS.admin, CLOSE, 'POST')).status).toBe(200)
    // Its own note is believed a short while...
    clock.advance(1_000)
    expect((await fetchAs(isolate, KEYS.carol)).code).toBe(18430)
    // ...then it asks the coordinator, which says closed.
    clock.advance(5_000)
    expect((await fetchAs(isolate, KEYS.carol)).status).toBe(200)
    expect((await fetchAs(isolate, KEYS.dave)).status).toBe(200)
  })

  it('keeps refusing in an isolate that rechecks while the breaker is still open', async () => {
    clock = fakeClock()
    const isolate = await isolateWith()
    await trip(isolate)
    const before = await upstreamCalls()
    clock.advance(6_000)
    const held = await fetchAs(isolate, KEYS.carol)
    expect([held.status, held.code]).toEqual([429, 18430])
    expect(Number(held.headers.get('retry-after'))).toBeLessThanOrEqual(294)
    expect(await upstreamCalls()).toBe(before)
  })

  it('refuses a developer with 403, leaves the breaker open, and records the refusal', async () => {
    await trip(await isolateWith())
    let refused: Awaited<ReturnType<typeof fetchAs>> | undefined
    const entries = await newEntries(async () => {
      refused = await fetchAs(await isolateWith(), KEYS.alice, CLOSE, 'POST')
    })
    expect([refused!.status, refused!.code]).toEqual([403, 18301])
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({
      action: 'breaker',
      member: 'alice',
      decision: { effect: 'deny' },
      outcome: { status: 403 },
    })
    expect((await fetchAs(await isolateWith(), KEYS.carol)).code).toBe(18430)
  })

  it('answers was_open: false when it was closed', async () => {
    const closed = await fetchAs(await isolateWith(), KEYS.admin, CLOSE, 'POST')
    expect(closed.body).toMatchObject({ result: { was_open: false, remaining_seconds: 0 } })
  })
})

describe('the coordinator unreachable', () => {
  const down = { COORDINATOR: unreachableCoordinator }

  it('refuses reads with 503/18507 and sends nothing upstream', async () => {
    const list = await callJson(certificatesUrl(), { key: KEYS.alice, env: down })
    expect([list.status, list.body.errors[0]!.code]).toEqual([503, 18507])
    const get = await callJson(certificateUrl(crypto.randomUUID()), { key: KEYS.admin, env: down })
    expect([get.status, get.body.errors[0]!.code]).toEqual([503, 18507])
    expect(await upstreamCalls()).toBe(0)
  })

  it('still answers whoami, without a budget', async () => {
    const whoami = await callJson<{ member: string; budget: unknown }>(`${GATEWAY}/whoami`, {
      key: KEYS.alice,
      env: down,
    })
    expect(whoami.status).toBe(200)
    expect(whoami.body.result).toMatchObject({ member: 'alice', budget: null })
  })
})
