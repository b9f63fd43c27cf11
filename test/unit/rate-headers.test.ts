/**
 * The upstream's word on the token's rate limit, read from an answer's headers
 * (upstream/rate-headers.ts): both forms Cloudflare's pages give, the cautious reading where they
 * disagree, and nothing at all (never a guess) from a header that does not parse.
 */
import { describe, expect, it } from 'vitest'
import { rateLimitWord } from '../../src/upstream/rate-headers'

const SENT = 1_800_000_000_000
const HEARD = SENT + 40

const read = (headers: Record<string, string>) => rateLimitWord(new Headers(headers), SENT, HEARD)

describe('x-ratelimit-*', () => {
  it('reads limit and remaining, and a reset as an HTTP date, seconds, or a Unix time', () => {
    expect(read({ 'x-ratelimit-limit': '1200', 'x-ratelimit-remaining': '1180' })).toEqual({
      remaining: 1180,
      limit: 1200,
      resetMs: null,
      sentMs: SENT,
      heardMs: HEARD,
    })
    const date = new Date(HEARD + 60_000)
    expect(
      read({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': date.toUTCString() })?.resetMs,
    ).toBe(Math.floor((HEARD + 60_000) / 1000) * 1000)
    expect(read({ 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': '30' })?.resetMs).toBe(
      HEARD + 30_000,
    )
    expect(
      read({ 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': String(SENT / 1000 + 90) })
        ?.resetMs,
    ).toBe(SENT + 90_000)
  })

  it('reads the draft names without x- too', () => {
    expect(read({ 'ratelimit-limit': '100', 'ratelimit-remaining': '7' })).toMatchObject({
      remaining: 7,
      limit: 100,
    })
  })
})

describe('IETF RateLimit and RateLimit-Policy', () => {
  it('reads r and t, and q from the policy of the same name', () => {
    expect(
      read({
        'ratelimit-policy': '"default";q=1200;w=300',
        ratelimit: '"default";r=1180;t=240',
      }),
    ).toEqual({
      remaining: 1180,
      limit: 1200,
      resetMs: HEARD + 240_000,
      sentMs: SENT,
      heardMs: HEARD,
    })
  })

  it('takes the policy with the least left, and the smallest quota when names do not match', () => {
    expect(
      read({
        'ratelimit-policy': '"burst";q=100;w=60, "day";q=5000;w=86400',
        ratelimit: '"day";r=4000;t=3600, "burst";r=12;t=20',
      }),
    ).toMatchObject({ remaining: 12, limit: 100, resetMs: HEARD + 20_000 })
    // Cloudflare's page names "default" in one and "burst" in the other.
    expect(
      read({ 'ratelimit-policy': '"burst";q=100;w=60', ratelimit: '"default";r=50;t=30' }),
    ).toMatchObject({ remaining: 50, limit: 100, resetMs: HEARD + 30_000 })
    expect(read({ ratelimit: '"default";r=50' })).toMatchObject({
      remaining: 50,
      limit: null,
      resetMs: null,
    })
  })

  it('wins over x-ratelimit-* when both are sent', () => {
    expect(
      read({ ratelimit: '"default";r=3;t=9', 'x-ratelimit-remaining': '900' })?.remaining,
    ).toBe(3)
  })
})

describe('headers that say nothing believable', () => {
  it('are no word at all', () => {
    expect(read({})).toBeNull()
    expect(read({ 'x-ratelimit-remaining': '-1' })).toBeNull()
    expect(read({ 'x-ratelimit-remaining': '12.5' })).toBeNull()
    expect(read({ 'x-ratelimit-remaining': 'lots' })).toBeNull()
    expect(read({ 'x-ratelimit-remaining': '99999999999' })).toBeNull()
    expect(read({ ratelimit: '"default";t=30' })).toBeNull()
    expect(read({ ratelimit: 'garbage' })).toBeNull()
  })

  it('keep the count but drop a reset that is no time, or more than a day away', () => {
    expect(read({ 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': 'soon' })?.resetMs).toBeNull()
    expect(read({ ratelimit: '"default";r=5;t=864000' })).toMatchObject({
      remaining: 5,
      resetMs: null,
    })
  })
})
