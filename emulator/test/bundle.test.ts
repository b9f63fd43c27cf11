/**
 * The esbuild bundle (build.mjs) running as an auxiliary worker, reached the two ways the gateway's
 * tests reach it: a service binding (BUNDLED) and plain `fetch()` routed by `outboundService`. This
 * is where what a caller observes for `drop` and `reset` is pinned down.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'

import { exampleCa as pem } from '../../test/kit/fixtures'
import { BASE, call, control, resetEmulator } from './helpers'

const viaBinding = { fetch: (url: string, init?: RequestInit) => env.BUNDLED.fetch(url, init) }
const viaOutbound = { fetch: (url: string, init?: RequestInit) => fetch(url, init) }

describe.each([
  ['service binding', viaBinding],
  ['outboundService', viaOutbound],
])('bundled emulator via %s', (_, target) => {
  beforeEach(() => resetEmulator(target))

  it('computes the example CA fields', async () => {
    const res = await call('', { method: 'POST', json: { ca: true, certificates: pem } }, target)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { result: unknown }).result).toMatchObject({
      issuer: 'O=Example Inc.,L=California,ST=San Francisco,C=US',
      serial_number: '235217144297995885180570755458463043449861756659',
      signature: 'SHA256WithRSA',
      expires_on: '2122-10-29T16:59:47Z',
    })
  })

  it('drop: fetch resolves with status and headers, reading the body rejects', async () => {
    await control('POST', '/faults', { faults: [{ kind: 'drop', status: 200 }] }, target)
    const res = await call('', {}, target)
    expect(res.status).toBe(200)
    expect(res.headers.get('cf-ray')).toMatch(/-LHR$/)
    await expect(res.json()).rejects.toThrow('emulated connection drop')
  })

  it('reset: fetch itself rejects', async () => {
    await control('POST', '/faults', { faults: [{ kind: 'reset' }] }, target)
    await expect(call('', {}, target)).rejects.toThrow(/emulated connection reset/)
    expect((await call('', {}, target)).status).toBe(200)
  })

  it('keeps its own state, apart from the source copy', async () => {
    await call('', { method: 'POST', json: { ca: true, certificates: pem } }, target)
    const own = await call(BASE, {}, target)
    expect(((await own.json()) as { result: unknown[] }).result).toHaveLength(1)
  })
})
