/**
 * The isolate's side of the member rate (identity/member-rate.ts) on a fake coordinator that
 * counts like the real one: leases grow from one request, a refused member is refused here
 * without a round trip until the minute ends and those refusals travel with the next ask, two
 * requests never share a pending ask, and without the coordinator the isolate counts by itself.
 */
import { describe, expect, it, vi } from 'vitest'
import type { MemberRates } from '../../src/coordinator/client'
import type { MemberRateAsk, Refusals } from '../../src/coordinator/leases'
import { GatewayError } from '../../src/lib/errors'
import { admitMember, rateCacheFor, type RateVerdict } from '../../src/identity/member-rate'

const MINUTE = 60_000
const START = 1_800_000_000_000 // a minute's start

/** Grants each member up to `limit` a minute, as coordinator/member-rate.ts does; keeps every ask. */
function fakeRates(limit: number) {
  const asks: MemberRateAsk[] = []
  const counts = new Map<string, { window: number; granted: number; refused: number }>()
  const rates: MemberRates = {
    async ask(ask) {
      asks.push(ask)
      await Promise.resolve()
      const w = Math.floor(Date.now() / ask.periodMs)
      let count = counts.get(ask.member)
      if (count?.window !== w) {
        count = { window: w, granted: 0, refused: 0 }
        counts.set(ask.member, count)
      }
      const n = Math.max(0, Math.min(ask.want, limit - count.granted))
      count.granted += n
      const record = n > 0 || ++count.refused === 1 // only a minute's first refusal is recorded
      return { granted: n, windowEndMs: (w + 1) * ask.periodMs, record, summary: null }
    },
  }
  return { rates, asks }
}

describe('admitMember', () => {
  it('grows its leases from one request, so a busy member costs one round trip per few requests', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(START + 1_000)
    try {
      const { rates, asks } = fakeRates(120)
      const cache = rateCacheFor({})
      const rate = { limit: 120, periodMs: MINUTE }
      const verdicts: RateVerdict[] = []
      for (let i = 0; i < 60; i++) verdicts.push(await admitMember(rates, cache, 'alice', rate))
      expect(verdicts.every((v) => v.allowed)).toBe(true)
      // 1, 2, 4, then 6 (a twentieth of 120) at a time: 12 round trips for 60 requests.
      expect(asks.map((a) => a.want)).toEqual([1, 2, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6])
    } finally {
      vi.useRealTimers()
    }
  })

  it('once refused, refuses by itself until the minute ends, and reports those refusals with its next ask', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(START + 1_000)
    try {
      const { rates, asks } = fakeRates(3)
      const cache = rateCacheFor({})
      const rate = { limit: 3, periodMs: MINUTE }
      const verdicts: RateVerdict[] = []
      for (let i = 0; i < 10; i++) verdicts.push(await admitMember(rates, cache, 'alice', rate))
      expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, ...Array(7).fill(false)])
      // The coordinator's refusal (recorded) was the only ask after the grants.
      expect(verdicts[3]).toMatchObject({ allowed: false, record: true, retryAfterMs: 59_000 })
      expect(verdicts.slice(4).every((v) => !v.allowed && !v.record)).toBe(true)
      const asksInTheMinute = asks.length
      // Another member is counted apart.
      expect(await admitMember(rates, cache, 'carol', rate)).toMatchObject({ allowed: true })

      vi.setSystemTime(START + MINUTE + 1)
      expect(await admitMember(rates, cache, 'alice', rate)).toMatchObject({ allowed: true })
      const next = asks.at(-1)!
      expect(asks.length).toBe(asksInTheMinute + 2)
      expect(next.unrecorded).toMatchObject<Partial<Refusals>>({
        count: 6,
        error_codes: { 18440: 6 },
      })
    } finally {
      vi.useRealTimers()
    }
  })

  it('lets two requests that find no lease each ask for their own: none waits on the other', async () => {
    const { rates, asks } = fakeRates(100)
    const cache = rateCacheFor({})
    const rate = { limit: 100, periodMs: MINUTE }
    const verdicts = await Promise.all(
      Array.from({ length: 5 }, () => admitMember(rates, cache, 'alice', rate)),
    )
    expect(verdicts.every((v) => v.allowed)).toBe(true)
    expect(asks.map((a) => a.want)).toEqual([1, 1, 1, 1, 1])
    // What came back is in the cache as a value: the next requests spend it without asking.
    expect(cache.members.get('alice')?.remaining).toBe(0)
  })

  it('counts the member in the isolate alone when the coordinator cannot be reached', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(START + 1_000)
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const rates: MemberRates = {
        ask: () => Promise.reject(GatewayError.of('COORDINATOR_UNAVAILABLE')),
      }
      const cache = rateCacheFor({})
      const rate = { limit: 5, periodMs: MINUTE }
      const verdicts: RateVerdict[] = []
      for (let i = 0; i < 8; i++) verdicts.push(await admitMember(rates, cache, 'alice', rate))
      expect(verdicts.map((v) => v.allowed)).toEqual([
        true,
        true,
        true,
        true,
        true,
        false,
        false,
        false,
      ])
      expect(verdicts.slice(5).map((v) => !v.allowed && v.record)).toEqual([true, false, false])
      expect(error).toHaveBeenCalledWith(
        'member rate of alice counted in this isolate alone:',
        expect.stringContaining('18507'),
      )
      vi.setSystemTime(START + MINUTE)
      expect(await admitMember(rates, cache, 'alice', rate)).toMatchObject({ allowed: true })
    } finally {
      error.mockRestore()
      vi.useRealTimers()
    }
  })
})
