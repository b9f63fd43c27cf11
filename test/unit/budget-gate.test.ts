/**
 * The budget gate's rule for requests of one member at once (upstream/budget-gate.ts): no request
 * waits on a promise another request started. In workerd a request whose only pending work is
 * another request's I/O is cancelled as hung (issue 17); here, a renewal that never answers must
 * not hold anyone else. The end-to-end proof under `wrangler dev` is test/e2e/concurrency.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { LeaseAnswer, LeaseAsk } from '../../src/coordinator/leases'
import { BREAKER_RECHECK_MS, LEASE_TTL_MS, MAX_BREAKER_MS } from '../../src/coordinator/leases'
import { GatewayError } from '../../src/lib/errors'
import type { BudgetPlan } from '../../src/policy/limits'
import { budgetGate, leaseCacheFor, type TokenBudget } from '../../src/upstream/budget-gate'

const PLAN: BudgetPlan = { windowMs: 300_000, cap: 1000, reserve: 100, shares: { payments: 900 } }
const CALLER = { team: 'payments', member: 'alice', reserveEligible: false, memberLimit: null }

/** A coordinator whose answers the test gives one by one, or at once with `answerAll`. */
function heldBudget() {
  const asks: { ask: LeaseAsk; answer: (a: LeaseAnswer) => void }[] = []
  const budget: TokenBudget = {
    lease: (ask) => new Promise((answer) => asks.push({ ask, answer })),
    trip: async () => {},
    close: () => Promise.reject(new Error('not used')),
    view: () => Promise.reject(new Error('not used')),
  }
  return { budget, asks }
}

const lease = (granted: number, id = crypto.randomUUID()): LeaseAnswer => ({
  kind: 'lease',
  granted,
  id,
  expiresMs: Date.now() + LEASE_TTL_MS,
})

/** Lets every settled promise run its continuations. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

afterEach(() => {
  vi.useRealTimers()
})

describe('requests of one member at once', () => {
  it('are admitted while another request of the member renews the lease (nobody waits on it)', async () => {
    const { budget, asks } = heldBudget()
    const cache = {}
    const shared = () => budgetGate(budget, PLAN, CALLER, leaseCacheFor(cache))

    let renewerDone = false
    const renewer = shared()
      .admit()
      .then(() => (renewerDone = true))
    await settle()
    expect(asks.map((a) => a.ask.want)).toEqual([1])

    // The renewal hangs. A second request of the member asks for itself...
    let secondDone = false
    const second = shared()
      .admit()
      .then(() => (secondDone = true))
    await settle()
    expect(asks.map((a) => a.ask.want)).toEqual([1, 1])
    // ...and is admitted by its own answer while the renewal still hangs.
    asks[1]!.answer(lease(1))
    await second
    expect([secondDone, renewerDone]).toEqual([true, false])

    asks[0]!.answer(lease(1))
    await renewer
    expect(renewerDone).toBe(true)
  })

  it('spend what the renewal brought back, and ask again twice as much once it is used up', async () => {
    const { budget, asks } = heldBudget()
    const cache = {}
    const admit = () => budgetGate(budget, PLAN, CALLER, leaseCacheFor(cache)).admit()

    const first = admit()
    await settle()
    asks[0]!.answer(lease(1))
    await first
    // Used up in time: the next renewal asks for two, and one request of it is left for later.
    const second = admit()
    await settle()
    expect(asks[1]!.ask.want).toBe(2)
    asks[1]!.answer(lease(2))
    await second
    await admit() // the one left: no coordinator call
    expect(asks).toHaveLength(2)
    const fourth = admit()
    await settle()
    expect(asks[2]!.ask.want).toBe(4)
    asks[2]!.answer(lease(4))
    await fourth
  })

  it('take over a renewal that never finished once a lease would have expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { budget, asks } = heldBudget()
    const cache = {}
    const admit = () => budgetGate(budget, PLAN, CALLER, leaseCacheFor(cache)).admit()

    void admit() // its request was cancelled: no answer, no `finally`
    await settle()
    vi.setSystemTime(Date.now() + LEASE_TTL_MS + 1)
    const next = admit()
    await settle()
    expect(asks).toHaveLength(2)
    asks[1]!.answer(lease(3))
    await next
    // The new renewal's lease serves the member: two requests left of three.
    await admit()
    await admit()
    expect(asks).toHaveLength(2)
    // The lost renewal's late answer does not replace it.
    asks[0]!.answer(lease(16))
    await settle()
    const after = admit()
    await settle()
    expect(asks).toHaveLength(3)
    asks[2]!.answer(lease(1))
    await after
  })

  it('refuse each request with the coordinator’s refusal, without waiting on another', async () => {
    const { budget, asks } = heldBudget()
    const cache = {}
    const admit = () => budgetGate(budget, PLAN, CALLER, leaseCacheFor(cache)).admit()
    const first = admit().catch((error: unknown) => error)
    const second = admit().catch((error: unknown) => error)
    await settle()
    expect(asks).toHaveLength(2)
    asks[1]!.answer({ kind: 'refused', refusal: 'budget', retryAfterMs: 4_000 })
    const refused = await second
    expect(refused).toBeInstanceOf(GatewayError)
    expect((refused as GatewayError).errors[0]!.code).toBe(18429)
    asks[0]!.answer({ kind: 'refused', refusal: 'breaker', retryAfterMs: 60_000 })
    expect(((await first) as GatewayError).errors[0]!.code).toBe(18430)
  })
})

describe('the breaker as an isolate notes it', () => {
  const code = (error: unknown) => (error as GatewayError).errors[0]!.code
  const retryAfter = (error: unknown) => Number((error as GatewayError).headers['retry-after'])

  it('holds at most MAX_BREAKER_MS after a 429 whose retry-after is a day', async () => {
    const { budget, asks } = heldBudget()
    const gate = budgetGate(budget, PLAN, CALLER, leaseCacheFor({}))
    await gate.rateLimited(86_400_000)
    const refused = await gate.admit().catch((error: unknown) => error)
    expect(code(refused)).toBe(18430)
    expect(retryAfter(refused)).toBe(MAX_BREAKER_MS / 1000)
    expect(asks).toHaveLength(0)
  })

  it('caps a breaker refusal of the coordinator too', async () => {
    const { budget, asks } = heldBudget()
    const gate = budgetGate(budget, PLAN, CALLER, leaseCacheFor({}))
    const first = gate.admit().catch((error: unknown) => error)
    await settle()
    asks[0]!.answer({ kind: 'refused', refusal: 'breaker', retryAfterMs: 86_400_000 })
    expect(retryAfter(await first)).toBe(MAX_BREAKER_MS / 1000)
  })

  it('believes its note for BREAKER_RECHECK_MS, then asks the coordinator, whose lease clears it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { budget, asks } = heldBudget()
    const cache = {}
    const gate = () => budgetGate(budget, PLAN, CALLER, leaseCacheFor(cache))
    await gate().rateLimited(60_000)
    vi.setSystemTime(Date.now() + BREAKER_RECHECK_MS - 1)
    expect(
      code(
        await gate()
          .admit()
          .catch((error: unknown) => error),
      ),
    ).toBe(18430)
    expect(asks).toHaveLength(0)
    vi.setSystemTime(Date.now() + 1)
    const rechecked = gate().admit()
    await settle()
    expect(asks.map((a) => a.ask.want)).toEqual([1])
    asks[0]!.answer(lease(1)) // the breaker was closed on the coordinator
    await rechecked
    // The note is gone: the next request renews the member's lease as usual.
    const next = gate().admit()
    await settle()
    expect(asks).toHaveLength(2)
    asks[1]!.answer(lease(1))
    await next
  })

  it('does not let an answer asked before a newer 429 clear the note', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { budget, asks } = heldBudget()
    const cache = {}
    const gate = () => budgetGate(budget, PLAN, CALLER, leaseCacheFor(cache))
    const asked = gate().admit()
    await settle()
    vi.setSystemTime(Date.now() + 10)
    await gate().rateLimited(60_000) // another request met a 429 meanwhile
    asks[0]!.answer(lease(1))
    await asked
    expect(
      code(
        await gate()
          .admit()
          .catch((error: unknown) => error),
      ),
    ).toBe(18430)
  })
})

describe("the upstream's word", () => {
  const word = (remaining: number, heardMs: number) => ({
    remaining,
    limit: 100,
    resetMs: null,
    sentMs: heardMs - 10,
    heardMs,
  })

  it('goes to the coordinator with the next lease ask of any member, once, the latest heard', async () => {
    const { budget, asks } = heldBudget()
    const cache = {}
    const gate = (caller = CALLER) => budgetGate(budget, PLAN, caller, leaseCacheFor(cache))

    const first = gate().admit()
    await settle()
    expect(asks[0]!.ask.upstream).toBeUndefined()
    asks[0]!.answer(lease(1))
    await first
    // Two answers heard, the later one first: the latest heard is what goes.
    gate().heard(word(40, 2_000))
    gate().heard(word(45, 1_000))

    const bob = { ...CALLER, member: 'bob' }
    const second = gate(bob).admit()
    await settle()
    expect(asks[1]!.ask.upstream).toEqual(word(40, 2_000))
    asks[1]!.answer({ kind: 'refused', refusal: 'upstream', retryAfterMs: 30_000 })
    const refused = (await second.catch((error: unknown) => error)) as GatewayError
    expect(refused.errors[0]!.code).toBe(18429)
    expect(refused.errors[0]!.message).toMatch(/upstream says/)
    expect(refused.headers['retry-after']).toBe('30')

    // Passed on: the next ask carries nothing until another answer is heard.
    const third = gate(bob).admit()
    await settle()
    expect(asks[2]!.ask.upstream).toBeUndefined()
    asks[2]!.answer(lease(1))
    await third
  })

  it('is passed on again when the ask that carried it was lost', async () => {
    const { budget, asks } = heldBudget()
    const cache = {}
    const carried: (LeaseAsk['upstream'] | undefined)[] = []
    const failing: TokenBudget = {
      ...budget,
      lease: (ask) => {
        carried.push(ask.upstream)
        return Promise.reject(new Error('unreachable'))
      },
    }
    budgetGate(budget, PLAN, CALLER, leaseCacheFor(cache)).heard(word(10, 1_000))
    // The coordinator could not be reached: the ask throws, the word stays to pass on.
    await expect(budgetGate(failing, PLAN, CALLER, leaseCacheFor(cache)).admit()).rejects.toThrow()
    expect(carried).toEqual([word(10, 1_000)])
    const next = budgetGate(budget, PLAN, CALLER, leaseCacheFor(cache)).admit()
    await settle()
    expect(asks[0]!.ask.upstream).toEqual(word(10, 1_000))
    asks[0]!.answer(lease(1))
    await next
  })
})
