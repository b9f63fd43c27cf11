/**
 * The Cloudflare Access key set stand-in: `GET /cdn-cgi/access/certs` serves what
 * `PUT /__emulator/access/jwks` set, counts its fetches, stays out of the request log, and is
 * wiped by reset. Checked on the source and on the bundle through `outboundService` (how the
 * gateway's tests reach it).
 */
import { exports } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'

import { control, resetEmulator } from './helpers'

type State = { keys: Record<string, unknown>[]; fetches: number }

const source = exports.default
const viaOutbound = { fetch: (url: string, init?: RequestInit) => fetch(url, init) }

const publicJwk = async (kid: string) => {
  const { publicKey } = (await crypto.subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair
  const jwk = (await crypto.subtle.exportKey('jwk', publicKey)) as JsonWebKey
  return { kty: jwk.kty!, n: jwk.n!, e: jwk.e!, alg: 'RS256', use: 'sig', kid }
}

const state = async (target: typeof viaOutbound = source) =>
  (await (await control('GET', '/access/jwks', undefined, target)).json()) as State

describe.each([
  ['source', source],
  ['bundle via outboundService', viaOutbound],
])('Access JWKS (%s)', (_, target) => {
  beforeEach(() => resetEmulator(target))

  it('serves an empty key set until one is put, on any host, and counts each fetch', async () => {
    const empty = await target.fetch('https://acme.cloudflareaccess.com/cdn-cgi/access/certs')
    expect(empty.status).toBe(200)
    expect(await empty.json()).toEqual({ keys: [] })

    const jwk = await publicJwk('key-1')
    const put = await control('PUT', '/access/jwks', { keys: [jwk] }, target)
    expect(put.status).toBe(200)
    expect(await put.json()).toEqual({ keys: [jwk], fetches: 1 })

    const served = await target.fetch('http://127.0.0.1:8788/cdn-cgi/access/certs')
    expect(served.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await served.json()).toEqual({ keys: [jwk] })
    expect(await state(target)).toEqual({ keys: [jwk], fetches: 2 })
  })

  it('keeps key fetches out of the request log and answers 405 to other methods', async () => {
    await target.fetch('https://x/cdn-cgi/access/certs').then((r) => r.body?.cancel())
    const post = await target.fetch('https://x/cdn-cgi/access/certs', { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET')
    await post.body?.cancel()
    const log = (await (await control('GET', '/requests', undefined, target)).json()) as {
      requests: unknown[]
    }
    expect(log.requests).toEqual([])
    expect((await state(target)).fetches).toBe(1)
  })

  it('is wiped by reset: no keys, count back to zero', async () => {
    await control('PUT', '/access/jwks', { keys: [await publicJwk('key-1')] }, target)
    await target.fetch('https://x/cdn-cgi/access/certs').then((r) => r.body?.cancel())
    await resetEmulator(target)
    expect(await state(target)).toEqual({ keys: [], fetches: 0 })
  })
})

describe('Access JWKS control', () => {
  beforeEach(() => resetEmulator())

  it('needs the control secret to read or change the key set', async () => {
    for (const method of ['GET', 'PUT']) {
      const res = await source.fetch('https://x/__emulator/access/jwks', {
        method,
        body: method === 'PUT' ? JSON.stringify({ keys: [] }) : undefined,
      })
      expect(res.status).toBe(403)
      await res.body?.cancel()
    }
  })

  it.each([
    ['a body without keys', {}],
    ['a key without kty', { keys: [{ kid: 'x' }] }],
    ['a private key (d)', { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', d: 'AQAB' }] }],
    ['a symmetric key (k)', { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }],
  ])('refuses %s with 400 and keeps the old set', async (_, body) => {
    const jwk = await publicJwk('kept')
    await control('PUT', '/access/jwks', { keys: [jwk] })
    const res = await control('PUT', '/access/jwks', body)
    expect(res.status).toBe(400)
    await res.body?.cancel()
    expect((await state()).keys).toEqual([jwk])
  })
})
