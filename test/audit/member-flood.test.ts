/**
 * One member's flood of authenticated requests (whoami, unknown routes, console pages: anything
 * that never reaches the upstream budget) is held to the member's rate, answered 429 / 18440 with
 * retry-after, and leaves a bounded number of audit entries: the minute's allowed requests, its
 * first refusal, and one summary of the rest written with the member's next request after the
 * minute. Another member is unaffected. The clock is faked (test/kit/clock.ts): the coordinator
 * runs in the test's isolate and reads the same `Date`, so a minute can pass between two steps.
 */
import { env } from 'cloudflare:test'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import type { MemberRateAsk } from '../../src/coordinator/leases'
import { memberRateInstanceName } from '../../src/coordinator/shard'
import { DEFAULT_MEMBER_REQUESTS_PER_MINUTE } from '../../src/policy/limits'
import { fakeClock, type FakeClock } from '../kit/clock'
import { expectNoSecretsInAudit, newEntries } from '../support/audit'
import { resetMemberRates } from '../support/coordinator'
import { emulator } from '../support/emulator'
import { GATEWAY, call } from '../support/gateway'
import { KEYS } from '../support/identities'
import { policyWith } from '../support/policies'
import { Browser } from '../console/support'

const MINUTE = 60_000
const whoami = `${GATEWAY}/whoami`

/** The suite's policy with `limits` as given (the suite's own is far above any test's traffic). */
async function policyLimiting(limits: Record<string, unknown> | undefined): Promise<string> {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  if (limits === undefined) delete policy.limits
  else policy.limits = limits
  return JSON.stringify(policy)
}

let defaultRate: Partial<Env>
let twenty: Partial<Env>
let clock: FakeClock | undefined

beforeAll(async () => {
  defaultRate = { POLICY: await policyLimiting(undefined) }
  twenty = { POLICY: await policyLimiting({ member_requests_per_minute: 20 }) }
})

beforeEach(async () => {
  await emulator.reset()
  await resetMemberRates(['alice', 'bob', 'carol', 'admin', 'auditor'])
  // A second into a minute of its own, standing still until a test moves it.
  clock = fakeClock((Math.floor(Date.now() / MINUTE) + 2) * MINUTE + 1_000)
})

afterAll(async () => {
  clock?.restore()
  await expectNoSecretsInAudit()
})

interface Answer {
  status: number
  code: number | undefined
  retryAfter: string | null
}

/** `n` requests of one key, 20 at a time: their statuses, codes and retry-after. */
async function flood(url: string, key: string, n: number, envOf: Partial<Env>): Promise<Answer[]> {
  const answers: Answer[] = []
  for (let sent = 0; sent < n; sent += 20) {
    const batch = Array.from({ length: Math.min(20, n - sent) }, async () => {
      const response = await call(url, { key, env: envOf })
      const body = (await response.json()) as { errors: { code: number }[] }
      return {
        status: response.status,
        code: body.errors[0]?.code,
        retryAfter: response.headers.get('retry-after'),
      }
    })
    answers.push(...(await Promise.all(batch)))
  }
  return answers
}

const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status)
const of = (entries: AuditEntry[], member: string) => entries.filter((e) => e.member === member)

describe("a member's 1,000 whoami at the default rate", () => {
  it('are answered 120 times, refused 429 / 18440 with retry-after, and leave 121 entries that minute', async () => {
    const limit = DEFAULT_MEMBER_REQUESTS_PER_MINUTE
    let answers: Answer[] = []
    let carol: Response | undefined
    const written = await newEntries(async () => {
      answers = await flood(whoami, KEYS.alice, 1_000, defaultRate)
      carol = await call(whoami, { key: KEYS.carol, env: defaultRate })
    })
    expect(count(answers, 200)).toHaveLength(limit)
    const refused = count(answers, 429)
    expect(refused).toHaveLength(1_000 - limit)
    // The gateway's own code, and the rest of the minute (the clock stands a second into it).
    expect(new Set(refused.map((a) => `${a.code} ${a.retryAfter}`))).toEqual(new Set(['18440 59']))

    // Carol, in the same minute, is not held back by alice.
    expect(carol?.status).toBe(200)
    expect(of(written, 'carol')).toHaveLength(1)

    // The minute's allowed requests and its first refusal, nothing per further refusal.
    const alice = of(written, 'alice')
    expect(alice).toHaveLength(limit + 1)
    // (Refused before routing, like a 401: the entry names the member, not the route's action.)
    expect(alice.filter((e) => e.outcome.status === 429)).toMatchObject([
      { kind: 'request', member: 'alice', outcome: { class: 'denied', error_codes: [18440] } },
    ])

    // The minute ends: alice's next request is answered, and brings the one summary of the rest.
    clock!.advance(MINUTE)
    const later = await newEntries(() => call(whoami, { key: KEYS.alice, env: defaultRate }))
    expect(later).toHaveLength(2)
    expect(later.find((e) => e.kind === 'suppressed')).toMatchObject({
      member: 'alice',
      team: 'payments',
      via: 'key',
      outcome: { class: 'denied', status: 429, error_codes: [18440] },
      suppressed: { count: 1_000 - limit - 1, error_codes: { 18440: 1_000 - limit - 1 } },
    })
    expect(later.find((e) => e.kind === 'request')).toMatchObject({ outcome: { status: 200 } })
  }, 120_000)
})

describe('the member rate', () => {
  it('meters unknown routes, denied requests and explain alike, and their summary reaches reviewers', async () => {
    const urls = [
      `${GATEWAY}/nowhere`,
      `${GATEWAY}/audit`, // alice may not read the log: 403
      `${GATEWAY}/explain?action=list&account_id=${'0'.repeat(32)}`,
    ]
    const since = new Date(clock!.now()).toISOString()
    const answers: Answer[] = []
    const written = await newEntries(async () => {
      for (const url of urls) answers.push(...(await flood(url, KEYS.alice, 20, twenty)))
    })
    expect(count(answers, 429)).toHaveLength(40)
    expect(count(answers, 429).every((a) => a.code === 18440)).toBe(true)
    expect(of(written, 'alice')).toHaveLength(21)

    clock!.advance(MINUTE)
    await call(whoami, { key: KEYS.alice, env: twenty })
    const response = await call(`${GATEWAY}/audit?member=alice&outcome=denied&from=${since}`, {
      key: KEYS.auditor,
      env: twenty,
    })
    const { result } = (await response.json()) as { result: AuditEntry[] }
    expect(result.filter((e) => e.kind === 'suppressed')).toMatchObject([
      { member: 'alice', suppressed: { count: 39 } },
    ])
  })

  it('answers a console page past the rate with the 429 page and retry-after', async () => {
    const browser = new Browser({ env: twenty })
    expect((await browser.signIn(KEYS.bob)).status).toBe(303)
    const statuses: number[] = []
    for (let i = 0; i < 22; i++) statuses.push((await browser.get('/console/budgets')).status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(20)
    expect(statuses.slice(20)).toEqual([429, 429])
    const refused = await browser.get('/console/budgets')
    expect(refused.status).toBe(429)
    expect(refused.response.headers.get('retry-after')).toBe('59')
    expect(refused.response.headers.get('content-type')).toContain('text/html')
    expect(refused.html).toContain('18440')
  })

  it('makes the gateway refuse to serve when it is not a whole number from 1 to 100,000', async () => {
    for (const bad of [0, -1, 1.5, '120', 100_001]) {
      const response = await call(whoami, {
        key: KEYS.alice,
        env: { POLICY: await policyLimiting({ member_requests_per_minute: bad }) },
      })
      expect(response.status, String(bad)).toBe(503)
    }
    const unknown = await call(whoami, {
      key: KEYS.alice,
      env: { POLICY: await policyLimiting({ member_requests: 5 }) },
    })
    expect(unknown.status).toBe(503)
  })
})

describe("the member's instance", () => {
  const stub = () => env.COORDINATOR.get(env.COORDINATOR.idFromName(memberRateInstanceName('bob')))
  const ask = (extra: Partial<MemberRateAsk> = {}): MemberRateAsk => ({
    member: 'bob',
    limit: 3,
    periodMs: MINUTE,
    want: 2,
    code: 18440,
    unrecorded: null,
    ...extra,
  })

  it('grants the limit a minute, records the first refusal, and hands out one summary a minute', async () => {
    const start = (Math.floor(Date.now() / MINUTE) + 10) * MINUTE
    const at = (ms: number) => start + ms
    expect(await stub().memberRateAsk(ask(), at(0))).toMatchObject({ granted: 2 })
    expect(await stub().memberRateAsk(ask(), at(1))).toMatchObject({ granted: 1 })
    expect(await stub().memberRateAsk(ask(), at(2))).toEqual({
      granted: 0,
      windowEndMs: start + MINUTE,
      record: true,
      summary: null,
    })
    for (let i = 0; i < 4; i++) {
      expect(await stub().memberRateAsk(ask(), at(3 + i))).toMatchObject({ record: false })
    }
    // The next minute: its first ask brings the summary of the 4 counted refusals, and of 5 an
    // isolate refused by itself; a second ask that minute brings none, even with more of them.
    const refusedAlone = {
      count: 5,
      first: new Date(at(10)).toISOString(),
      last: new Date(at(20)).toISOString(),
      error_codes: { 18440: 5 },
    }
    const next = await stub().memberRateAsk(ask({ unrecorded: refusedAlone }), at(MINUTE))
    expect(next).toMatchObject({ granted: 2, summary: { count: 9, error_codes: { 18440: 9 } } })
    expect(next.summary?.first).toBe(new Date(at(3)).toISOString())
    const again = await stub().memberRateAsk(ask({ unrecorded: refusedAlone }), at(MINUTE + 1))
    expect(again.summary).toBeNull()
    // ... which the minute after hands out.
    const third = await stub().memberRateAsk(ask(), at(2 * MINUTE))
    expect(third.summary).toMatchObject({ count: 5 })
  })
})
