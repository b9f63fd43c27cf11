/**
 * The per-token budget: headers on every counted answer, the block after going over, and what is
 * not counted (control calls, refused credentials, unknown routes, faulted requests).
 */
import { exports } from 'cloudflare:workers'
import { afterEach, beforeEach, expect, it } from 'vitest'

import { fakeClock, type FakeClock } from '../../test/kit/clock'
import { BASE, call, callJson, control, resetEmulator } from './helpers'

// The limiter reads Date.now() in the test's isolate: windows and blocks pass when the test says.
let clock: FakeClock
beforeEach(async () => {
  clock = fakeClock()
  await resetEmulator()
})
afterEach(() => clock.restore())

it('sends x-ratelimit-limit/-remaining with the default budget of 1200', async () => {
  const first = await call('')
  expect(first.headers.get('x-ratelimit-limit')).toBe('1200')
  expect(first.headers.get('x-ratelimit-remaining')).toBe('1199')
  const notFound = await call('/missing')
  expect(notFound.status).toBe(404)
  expect(notFound.headers.get('x-ratelimit-remaining')).toBe('1198')
})

it('blocks every call for block_seconds after going over, with retry-after rounded up', async () => {
  await control('PUT', '/limits', { requests_per_window: 3, block_seconds: 299.2 })
  for (let i = 0; i < 3; i++) expect((await call('')).status).toBe(200)
  const { status, headers, body } = await callJson('')
  expect(status).toBe(429)
  expect(headers.get('retry-after')).toBe('300')
  expect(headers.get('x-ratelimit-limit')).toBe('3')
  expect(headers.get('x-ratelimit-remaining')).toBe('0')
  expect(new Date(headers.get('x-ratelimit-reset') ?? '').getTime()).toBeGreaterThan(Date.now())
  expect(body).toEqual({
    success: false,
    errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }],
    messages: [],
    result: null,
  })
  // Every endpoint is blocked, not just the one that went over.
  expect((await call('/x', { method: 'DELETE' })).status).toBe(429)
  expect((await call('/x/associations')).status).toBe(429)
})

it('ends the block after block_seconds and starts a fresh window', async () => {
  await control('PUT', '/limits', { requests_per_window: 1, block_seconds: 0.2 })
  expect((await call('')).status).toBe(200)
  expect((await call('')).status).toBe(429)
  clock.advance(199)
  expect((await call('')).status).toBe(429)
  clock.advance(1)
  const res = await call('')
  expect(res.status).toBe(200)
  expect(res.headers.get('x-ratelimit-remaining')).toBe('0')
})

it('starts a new window after window_seconds', async () => {
  await control('PUT', '/limits', { requests_per_window: 2, window_seconds: 0.2 })
  expect((await call('')).headers.get('x-ratelimit-remaining')).toBe('1')
  expect((await call('')).headers.get('x-ratelimit-remaining')).toBe('0')
  clock.advance(200)
  expect((await call('')).headers.get('x-ratelimit-remaining')).toBe('1')
})

it('does not count control calls, refused credentials, unknown routes or faulted requests', async () => {
  await control('PUT', '/limits', { requests_per_window: 1 })
  for (let i = 0; i < 3; i++) {
    await control('GET', '/requests')
    await (await exports.default.fetch(BASE)).body?.cancel()
    await (await call('', { headers: { authorization: 'Bearer wrong' } })).body?.cancel()
    await (await call('https://api.cloudflare.com/client/v4/other')).body?.cancel()
  }
  await control('POST', '/faults', { faults: [{ kind: 'status', status: 503, times: 2 }] })
  expect((await call('')).status).toBe(503)
  expect((await call('')).status).toBe(503)
  expect((await call('')).status).toBe(200)
  expect((await call('')).status).toBe(429)
})

it('is reset by /__emulator/reset, which also restores the default limits', async () => {
  await control('PUT', '/limits', { requests_per_window: 1 })
  await call('')
  expect((await call('')).status).toBe(429)
  await resetEmulator()
  const res = await call('')
  expect(res.status).toBe(200)
  expect(res.headers.get('x-ratelimit-limit')).toBe('1200')
})

it('says the same in the IETF form when asked, until reset', async () => {
  await control('PUT', '/limits', { requests_per_window: 3, window_seconds: 60 })
  const chosen = await control('PUT', '/rate-limit-headers', { form: 'ietf' })
  expect(await chosen.json()).toEqual({ form: 'ietf' })
  const first = await call('')
  expect(first.headers.get('ratelimit-policy')).toBe('"default";q=3;w=60')
  expect(first.headers.get('ratelimit')).toBe('"default";r=2;t=60')
  expect(first.headers.get('x-ratelimit-remaining')).toBeNull()
  clock.advance(10_000)
  expect((await call('')).headers.get('ratelimit')).toBe('"default";r=1;t=50')
  await call('')
  const over = await call('')
  expect(over.status).toBe(429)
  expect(over.headers.get('retry-after')).toBe('300')
  expect(over.headers.get('ratelimit')).toBe('"default";r=0;t=300')
  expect((await control('PUT', '/rate-limit-headers', { form: 'other' })).status).toBe(400)

  await resetEmulator()
  expect(await (await control('GET', '/rate-limit-headers')).json()).toEqual({
    form: 'x-ratelimit',
  })
  const after = await call('')
  expect(after.headers.get('x-ratelimit-remaining')).toBe('1199')
  expect(after.headers.get('ratelimit')).toBeNull()
})
