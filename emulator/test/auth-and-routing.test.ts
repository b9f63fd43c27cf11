/**
 * What every answer looks like (envelope, headers), credentials, unknown routes and wrong methods.
 */
import { exports } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'

import { BASE, call, callJson, resetEmulator } from './helpers'

beforeEach(() => resetEmulator())

describe('every answer', () => {
  it('is JSON with a cf-ray like Cloudflare sends', async () => {
    for (const res of [
      await call(''),
      await call('/missing'),
      await call('/x', { method: 'PUT' }),
    ]) {
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(res.headers.get('cf-ray')).toMatch(/^[0-9a-f]{16}-[A-Z]{3}$/)
      await res.body?.cancel()
    }
  })

  it('works on any host', async () => {
    const res = await exports.default.fetch(
      'http://localhost:8787/client/v4/accounts/a/mtls_certificates',
      { headers: { authorization: 'Bearer emulator-upstream-token' } },
    )
    expect(res.status).toBe(200)
  })
})

describe('credentials', () => {
  it('answers 400/9106 without any credential header', async () => {
    const res = await exports.default.fetch(BASE)
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      success: false,
      errors: [
        { code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' },
      ],
      messages: [],
      result: null,
    })
  })

  it('answers 400/6003 for an Authorization header that is not a bearer token', async () => {
    for (const authorization of ['Basic abc', 'Bearer', 'emulator-upstream-token']) {
      const { status, body } = await callJson('', { headers: { authorization } })
      expect(status).toBe(400)
      expect(body.errors).toEqual([
        {
          code: 6003,
          message: 'Invalid request headers',
          error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
        },
      ])
    }
  })

  it('answers 403/10000 for a wrong token or for API-key credentials', async () => {
    for (const headers of [
      { authorization: 'Bearer wrong' },
      { authorization: 'Bearer emulator-upstream-token-and-more' },
    ]) {
      const { status, body } = await callJson('', { headers })
      expect(status).toBe(403)
      expect(body.errors).toEqual([{ code: 10000, message: 'Authentication error' }])
    }
    const res = await exports.default.fetch(BASE, {
      headers: {
        'x-auth-email': 'user@example.com',
        'x-auth-key': '144c9defac04969c7bfad8efaa8ea194',
      },
    })
    expect(res.status).toBe(403)
  })

  it('accepts the bearer scheme case-insensitively', async () => {
    const { status } = await callJson('', {
      headers: { authorization: 'bearer emulator-upstream-token' },
    })
    expect(status).toBe(200)
  })

  it('checks credentials on every endpoint', async () => {
    for (const [method, path] of [
      ['GET', ''],
      ['POST', ''],
      ['GET', '/x'],
      ['DELETE', '/x'],
      ['GET', '/x/associations'],
    ] as const) {
      const res = await call(path, { method, headers: { authorization: 'Bearer wrong' } })
      expect(res.status, `${method} ${path}`).toBe(403)
      await res.body?.cancel()
    }
  })
})

describe('routing', () => {
  it.each([
    'https://api.cloudflare.com/client/v4/accounts/a/mtls_certificate',
    'https://api.cloudflare.com/client/v4/accounts/a/mtls_certificates/',
    'https://api.cloudflare.com/client/v4/accounts/a/mtls_certificates/x/associations/y',
    'https://api.cloudflare.com/client/v4/zones',
    'https://api.cloudflare.com/',
  ])('answers 404/7003 for %s, before checking credentials', async (url) => {
    const res = await exports.default.fetch(url)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({
      success: false,
      errors: [{ code: 7003, message: 'No route for the URI' }],
      messages: [],
      result: null,
    })
  })

  it.each([
    ['PUT', ''],
    ['DELETE', ''],
    ['PATCH', '/x'],
    ['POST', '/x'],
    ['POST', '/x/associations'],
    ['DELETE', '/x/associations'],
  ])('answers 405/7001 for %s on a known path %s', async (method, path) => {
    const res = await exports.default.fetch(`${BASE}${path}`, { method })
    expect(res.status).toBe(405)
    expect(((await res.json()) as { errors: unknown }).errors).toEqual([
      { code: 7001, message: 'Method not allowed for this route' },
    ])
  })
})
