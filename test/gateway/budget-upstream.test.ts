/**
 * The budget believes the upstream (coordinator/budget.ts, upstream/rate-headers.ts): with the
 * upstream's limit lowered below the policy's budget (as when the token's user also runs
 * Terraform or CI: the limit is per user), one member flooding reads, or uploads, is refused by
 * the gateway's own 429 / 18429 before the upstream's remaining reaches zero. The upstream never
 * answers 429, the breaker never opens, and another team and the admin are still served. In both
 * forms of the upstream's headers: `x-ratelimit-*` and the IETF `RateLimit` / `RateLimit-Policy`.
 *
 * A request sent through `fetchAs` reuses one `env` object: one configuration, one lease cache,
 * one isolate (as in budget.test.ts).
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { makeCertificate } from '../kit/certificates'
import { opened } from '../../src/coordinator/index'
import type { UpstreamWord } from '../../src/coordinator/leases'
import type { BudgetPlan } from '../../src/policy/limits'
import { budgetInstance } from '../support/coordinator'
import { emulator } from '../support/emulator'
import { GATEWAY, certificatesUrl } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'
import { runInDurableObject } from 'cloudflare:test'

/** The upstream's limit, far below the policy's default budget of 1,200 per 300 s. */
const UPSTREAM_LIMIT = 100

beforeEach(async () => {
  await emulator.reset()
  await emulator.setLimits({ requests_per_window: UPSTREAM_LIMIT, window_seconds: 60 })
})

/** The suite's policy with the default budget (1,200 requests per 300 s): the policy's own word. */
async function isolate() {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  delete policy.budget
  return { ...env, POLICY: JSON.stringify(policy) } as Env
}

interface Answer {
  status: number
  code: number | undefined
  body: Record<string, unknown>
}

async function fetchAs(on: Env, key: string, url: string, init: RequestInit = {}): Promise<Answer> {
  const ctx = createExecutionContext()
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${key}`)
  const response = await worker.fetch(new Request(url, { ...init, headers }), on, ctx)
  await waitOnExecutionContext(ctx)
  const body = (await response.json()) as { errors: { code: number }[] }
  return { status: response.status, code: body.errors[0]?.code, body }
}

/** `requests` answers to `next()` from `concurrency` connections at once. */
async function flood(requests: number, concurrency: number, next: (i: number) => Promise<Answer>) {
  const answers: Answer[] = []
  let sent = 0
  const connection = async () => {
    while (sent < requests) {
      const i = sent++
      answers.push(await next(i))
    }
  }
  await Promise.all(Array.from({ length: concurrency }, connection))
  return answers
}

const cells = (answers: Answer[]) => {
  const counts: Record<string, number> = {}
  for (const a of answers) {
    const cell = a.status === 200 ? '200' : `${a.status} ${a.code}`
    counts[cell] = (counts[cell] ?? 0) + 1
  }
  return counts
}

const breakerRow = async () =>
  runInDurableObject(await budgetInstance(), (_coordinator, state) =>
    state.storage.sql.exec('SELECT open_until_ms FROM breaker').toArray(),
  )

interface Standing {
  token: { cap: number }
  team: { share: number }
  breaker: { open: boolean }
  upstream: { limit: number | null; remaining: number; room: number; reset_seconds: number } | null
}

async function standing(on: Env, key: string): Promise<Standing> {
  const whoami = await fetchAs(on, key, `${GATEWAY}/whoami`)
  return (whoami.body as { result: { budget: Standing } }).result.budget
}

/** What a flood must leave behind: no upstream 429, the breaker closed, others still served. */
async function expectHeldBeforeTheUpstream(on: Env, answers: Answer[]) {
  const counts = cells(answers)
  const shown = JSON.stringify(counts)
  // Only the gateway's answers: served, or its own 429 / 18429; never the upstream's 971.
  expect(Object.keys(counts).sort(), shown).toEqual(['200', '429 18429'])
  expect(counts['200'], shown).toBeGreaterThan(10)
  const received = (await emulator.requests()).length
  expect(received, shown).toBeLessThan(UPSTREAM_LIMIT)
  expect(await breakerRow()).toEqual([])

  // Another team and the admin are still served, and the upstream still has requests left.
  const carol = await fetchAs(on, KEYS.carol, certificatesUrl())
  expect([carol.status, carol.code]).toEqual([200, undefined])
  const admin = await fetchAs(on, KEYS.admin, certificatesUrl())
  expect([admin.status, admin.code]).toEqual([200, undefined])
  expect((await emulator.requests()).length).toBeLessThan(UPSTREAM_LIMIT)
  expect(await breakerRow()).toEqual([])

  // whoami shows the upstream's word and the cap and shares shrunk to it.
  const budget = await standing(on, KEYS.bob)
  expect(budget.breaker.open).toBe(false)
  expect(budget.upstream).toMatchObject({ limit: UPSTREAM_LIMIT })
  expect(budget.upstream!.remaining).toBeGreaterThan(0)
  expect(budget.upstream!.reset_seconds).toBeGreaterThan(0)
  expect(budget.upstream!.reset_seconds).toBeLessThanOrEqual(300)
  expect(budget.token.cap).toBeLessThan(UPSTREAM_LIMIT)
  expect(budget.team.share).toBeLessThan(UPSTREAM_LIMIT / 3)
}

describe.each(['x-ratelimit', 'ietf'] as const)('with %s headers from the upstream', (form) => {
  beforeEach(async () => {
    await emulator.setRateLimitHeaders(form)
  })

  it('refuses one member flooding reads before the upstream locks the token', async () => {
    const on = await isolate()
    const answers = await flood(160, 8, () => fetchAs(on, KEYS.alice, certificatesUrl()))
    await expectHeldBeforeTheUpstream(on, answers)
  }, 60_000)

  it('refuses one member flooding uploads before the upstream locks the token', async () => {
    const on = await isolate()
    const pems = await Promise.all(
      Array.from({ length: 130 }, async () => (await makeCertificate()).pem),
    )
    const answers = await flood(pems.length, 6, (i) =>
      fetchAs(on, KEYS.alice, certificatesUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ca: false, certificates: pems[i] }),
      }),
    )
    await expectHeldBeforeTheUpstream(on, answers)
  }, 90_000)
})

describe("the upstream's word", () => {
  it('reaches the coordinator from every isolate: a second isolate is held by what the first heard', async () => {
    const first = await isolate()
    await flood(160, 8, () => fetchAs(first, KEYS.alice, certificatesUrl()))
    const before = (await emulator.requests()).length
    // A fresh isolate of the same team has heard nothing itself; the coordinator has.
    const second = await isolate()
    const answers = await flood(40, 4, () => fetchAs(second, KEYS.bob, certificatesUrl()))
    expect(cells(answers)['429 18429'], JSON.stringify(cells(answers))).toBeGreaterThan(0)
    expect((await emulator.requests()).length).toBeLessThan(UPSTREAM_LIMIT)
    expect((await emulator.requests()).length - before).toBeLessThanOrEqual(40)
    expect(await breakerRow()).toEqual([])
  }, 60_000)

  it('changes nothing while the upstream has more left than the policy allows', async () => {
    await emulator.setLimits({ requests_per_window: 1200, window_seconds: 300 })
    const on = await isolate()
    expect((await fetchAs(on, KEYS.alice, certificatesUrl())).status).toBe(200)
    expect((await fetchAs(on, KEYS.alice, certificatesUrl())).status).toBe(200)
    const budget = await standing(on, KEYS.alice)
    expect(budget.token.cap).toBe(1080)
    expect(budget.team.share).toBe(324)
    expect(budget.upstream).toMatchObject({ limit: 1200 })
    expect(budget.upstream!.remaining).toBeGreaterThanOrEqual(1190)
  })
})

describe("the upstream's word over time, in the coordinator", () => {
  const PLAN: BudgetPlan = { windowMs: 300_000, cap: 1080, reserve: 108, shares: { payments: 972 } }
  const ASK = { team: 'payments', member: 'alice', reserveEligible: false, memberLimit: null }
  const T = 1_800_000_000_000

  /** Runs `steps` on the token's budget module, with the clock the test gives. */
  const onBudget = async <R>(steps: (budget: ReturnType<typeof budgetOf>) => R) =>
    runInDurableObject(await budgetInstance(), (_coordinator, state) => steps(budgetOf(state)))
  const budgetOf = (state: DurableObjectState) => opened(state, {}, 'budget')
  const ask = (want: number, upstream?: UpstreamWord) => ({
    ...ASK,
    want,
    plan: PLAN,
    ...(upstream ? { upstream } : {}),
  })
  const view = (budget: ReturnType<typeof budgetOf>, nowMs: number) =>
    budget.view(PLAN, { team: 'payments', member: 'alice', memberLimit: null }, nowMs)

  it('holds until its reset, then assumes a fresh window of its limit; refuses with the time left', async () => {
    await onBudget((budget) => {
      budget.forget()
      const word = { remaining: 20, limit: 100, resetMs: T + 30_000, sentMs: T - 50, heardMs: T }
      // 20 left, 16 kept as the margin: 4 to grant, in leases of one near the end.
      expect(budget.lease(ask(16, word), T)).toMatchObject({ kind: 'lease', granted: 1 })
      for (let i = 0; i < 3; i++) expect(budget.lease(ask(1), T + 1)).toMatchObject({ granted: 1 })
      expect(budget.lease(ask(1), T + 2)).toEqual({
        kind: 'refused',
        refusal: 'upstream',
        retryAfterMs: 30_000 - 2,
      })
      expect(view(budget, T + 2)).toMatchObject({
        token: { cap: 4 },
        upstream: { limit: 100, remaining: 20, room: 0, reset_seconds: 30 },
      })
      // After the reset: the whole limit, less the margin and what was granted since.
      expect(budget.lease(ask(16), T + 30_000)).toMatchObject({ kind: 'lease', granted: 10 })
      expect(view(budget, T + 30_001).upstream).toMatchObject({ remaining: 100, room: 74 })
    })
  })

  it('without a reset holds one window of the plan; without a limit then, the plan alone', async () => {
    await onBudget((budget) => {
      budget.forget()
      const word = { remaining: 16, limit: null, resetMs: null, sentMs: T - 50, heardMs: T }
      expect(budget.lease(ask(1, word), T)).toMatchObject({ refusal: 'upstream' })
      expect(view(budget, T + 299_999).upstream).toMatchObject({ room: 0, reset_seconds: 1 })
      expect(view(budget, T + 300_000).upstream).toBeNull()
      expect(budget.lease(ask(1), T + 300_000)).toMatchObject({ kind: 'lease', granted: 1 })
    })
  })

  it('keeps the latest word heard, and a reset a day away holds at most 300 s', async () => {
    await onBudget((budget) => {
      budget.forget()
      const later = {
        remaining: 0,
        limit: 100,
        resetMs: T + 86_400_000,
        sentMs: T,
        heardMs: T + 10,
      }
      const earlier = { remaining: 90, limit: 100, resetMs: null, sentMs: T - 9, heardMs: T }
      expect(budget.lease(ask(1, later), T + 10)).toMatchObject({
        refusal: 'upstream',
        retryAfterMs: 300_000,
      })
      expect(budget.lease(ask(1, earlier), T + 20)).toMatchObject({ refusal: 'upstream' })
      expect(view(budget, T + 20).upstream).toMatchObject({ remaining: 0 })
    })
  })
})

// Issue 21: the same flood with the account snapshot on (the suite's policy turns it off), of
// uploads AND lists by one member: the lists are served from the snapshot (read-your-writes
// included), the uploads stop at the gateway's own 429 before the upstream's limit.
describe('with the snapshot on', () => {
  it('one member flooding uploads and lists: no upstream 429, lists served, others served', async () => {
    const policy = JSON.parse(await policyWith()) as Record<string, unknown>
    delete policy.budget
    policy.snapshot = { max_age_seconds: 30 }
    const on = { ...env, POLICY: JSON.stringify(policy) } as Env
    await runInDurableObject(env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT)), (_c, s) =>
      opened(s, {}, 'snapshot').forget(),
    )
    const pems = await Promise.all(
      Array.from({ length: 120 }, async () => (await makeCertificate()).pem),
    )
    const uploads: Answer[] = []
    const lists: Answer[] = []
    await flood(pems.length * 2, 8, async (i) => {
      const answer =
        i % 2 === 0
          ? await fetchAs(on, KEYS.alice, certificatesUrl(), {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ ca: false, certificates: pems[i / 2] }),
            })
          : await fetchAs(on, KEYS.alice, certificatesUrl())
      ;(i % 2 === 0 ? uploads : lists).push(answer)
      return answer
    })
    const received = (await emulator.requests()).map((r) => r.method)
    const byMethod = { GET: 0, POST: 0 }
    for (const method of received) byMethod[method as 'GET' | 'POST'] += 1
    const shown = JSON.stringify({ uploads: cells(uploads), lists: cells(lists), byMethod })
    // Every list served (from the snapshot after its one cold list), whatever the uploads met.
    expect(cells(lists), shown).toEqual({ '200': lists.length })
    expect(Object.keys(cells(uploads)).sort(), shown).toEqual(['200', '429 18429'])
    expect(byMethod.GET, shown).toBeLessThanOrEqual(2)
    expect(received.length, shown).toBeLessThan(UPSTREAM_LIMIT)
    expect(await breakerRow()).toEqual([])
    const carol = await fetchAs(on, KEYS.carol, certificatesUrl())
    expect([carol.status, carol.code]).toEqual([200, undefined])
    const admin = await fetchAs(on, KEYS.admin, certificatesUrl())
    expect([admin.status, admin.code]).toEqual([200, undefined])
    // Every upload answered 200 is in the admin's list at once (written through).
    expect((admin.body as { result: unknown[] }).result).toHaveLength(cells(uploads)['200']!)
  }, 120_000)
})
