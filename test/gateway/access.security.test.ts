/**
 * Cloudflare Access identities: only a token Access itself signed (RS256, by a key of the team's
 * JWKS), for this team and this application, unexpired, naming a member in good standing gets in;
 * everything else is 401 and nothing reaches the upstream. The JWKS is served by the emulator at
 * `/cdn-cgi/access/certs`, fetched by the gateway's own code over plain `fetch`.
 *
 * The gateway caches the key set per isolate (10 min) and refetches it on an unknown `kid` at most
 * once per 30 s. `Date` is faked (timers are not) so that each test starts with a stale cache, one
 * fetch away from the emulator's key set, and so that the cooldown can be stepped over.
 */
import { env } from 'cloudflare:test'
import {
  SignJWT,
  UnsecuredJWT,
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey as JoseKey,
  type JWTPayload,
} from 'jose'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeClock, type FakeClock } from '../kit/clock'
import { registerSecret } from '../support/audit'
import { emulator } from '../support/emulator'
import { BASE, callJson, certificatesUrl, type CallOptions } from '../support/gateway'
import { KEYS } from '../support/identities'

const TEAM_DOMAIN = 'http://127.0.0.1:8788'
const AUD = '4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2'
const SERVICE_TOKEN_ID = '88bf3b6d86161464f6509f7219099e57.access'
const WHOAMI = 'https://gateway.test/gateway/v1/whoami'

/** The suite's policy plus members known to Access: a person, a service token, and two refused. */
const basePolicy = JSON.parse(env.POLICY) as { members: Record<string, unknown>[] }
const POLICY = JSON.stringify({
  ...basePolicy,
  members: [
    ...basePolicy.members,
    { id: 'dana', team: 'payments', roles: ['developer'], access_email: 'Dana@Example.com' },
    { id: 'kate', team: 'identity', roles: ['developer'], access_email: 'kate@example.com' },
    { id: 'ci-deployer', team: 'platform', roles: ['admin'], access_common_name: SERVICE_TOKEN_ID },
    {
      id: 'erin',
      team: 'payments',
      roles: ['developer'],
      access_email: 'erin@example.com',
      expires_at: '2020-01-01T00:00:00Z',
    },
    {
      id: 'frank',
      team: 'payments',
      roles: ['developer'],
      access_email: 'frank@example.com',
      revoked: true,
    },
  ],
})
const ACCESS_ENV = { ACCESS_TEAM_DOMAIN: TEAM_DOMAIN, ACCESS_AUD: AUD, POLICY }

interface SigningKey {
  kid: string
  privateKey: JoseKey
  publicKey: JoseKey
  jwk: JsonWebKey
}
let keyA: SigningKey
let keyB: SigningKey

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } as JsonWebKey
  return { kid, privateKey, publicKey, jwk }
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

/** What Access puts in a token, for dana unless told otherwise. */
function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds()
  return {
    iss: TEAM_DOMAIN,
    aud: [AUD],
    sub: '7335d417-61da-459d-899c-0a01c76a2f94',
    email: 'dana@example.com',
    type: 'app',
    iat: now,
    nbf: now,
    exp: now + 600,
    ...overrides,
  }
}

function sign(payload: JWTPayload, key: SigningKey = keyA, kid: string = key.kid) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid })
    .sign(key.privateKey)
    .then(registerSecret)
}

/** A call that presents only an Access token (no gateway key) to a gateway with Access on. */
function withToken(token: string, url = certificatesUrl(), options: CallOptions = {}) {
  return callJson(url, {
    key: null,
    ...options,
    headers: { 'cf-access-jwt-assertion': token, ...options.headers },
    env: { ...ACCESS_ENV, ...options.env },
  })
}

async function fetches() {
  return (await emulator.accessKeys()).fetches
}

let clock: FakeClock

beforeAll(async () => {
  keyA = await signingKey('key-a')
  keyB = await signingKey('key-b')
  clock = fakeClock(Date.now() + 86_400_000)
})

afterAll(() => {
  clock.restore()
})

beforeEach(async () => {
  // Past the gateway's 10-minute cache: the first Access request of each test fetches the keys.
  clock.advance(11 * 60_000)
  await emulator.reset()
  await emulator.setAccessKeys([keyA.jwk])
})

afterEach(() => {
  vi.restoreAllMocks()
})

async function expectRefused(
  result: Awaited<ReturnType<typeof callJson>>,
  status: number,
  code: number,
) {
  expect({ status: result.status, codes: result.body.errors.map((e) => e.code) }).toEqual({
    status,
    codes: [code],
  })
  expect(result.body.success).toBe(false)
  if (status === 401) {
    expect(result.response.headers.get('www-authenticate')).toBe('Bearer realm="mtls-gateway"')
  }
  expect(await emulator.requests()).toEqual([])
}

describe('a valid Access token', () => {
  it.each([
    ['a person (email)', () => claims(), 'dana'],
    ['a person whose email differs in case', () => claims({ email: 'DANA@example.COM' }), 'dana'],
    ['kate by her ASCII email in capitals', () => claims({ email: 'KATE@EXAMPLE.COM' }), 'kate'],
    [
      'a service token (common_name)',
      () => claims({ email: undefined, sub: '', common_name: SERVICE_TOKEN_ID }),
      'ci-deployer',
    ],
  ])('authenticates %s as its member', async (_, payload, member) => {
    const token = await sign(payload())
    const { status, body } = await withToken(token, WHOAMI)
    expect(status).toBe(200)
    expect(body.result).toMatchObject({ member, authenticated_by: 'access' })
  })

  it.each([
    ['a person', () => claims()],
    ['a service token', () => claims({ email: undefined, common_name: SERVICE_TOKEN_ID })],
  ])('lets %s list, and the upstream never sees the token', async (_, payload) => {
    const token = await sign(payload())
    const { status, body } = await withToken(token)
    expect(status).toBe(200)
    expect(body.success).toBe(true)
    const requests = await emulator.requests()
    expect(requests.length).toBeGreaterThan(0)
    for (const request of requests) {
      expect(Object.keys(request.headers)).not.toContain('cf-access-jwt-assertion')
      expect(JSON.stringify(request)).not.toContain(token.split('.')[2])
    }
    expect(await fetches()).toBe(1)
  })

  it('is accepted with a few seconds of clock skew (30 s tolerance)', async () => {
    const now = nowSeconds()
    const token = await sign(claims({ iat: now + 10, nbf: now + 10, exp: now - 10 }))
    expect((await withToken(token)).status).toBe(200)
  })

  it('takes precedence over a gateway key sent alongside it', async () => {
    const token = await sign(claims())
    const { status, body } = await withToken(token, WHOAMI, {
      headers: { authorization: `Bearer ${KEYS.admin}` },
    })
    expect(status).toBe(200)
    expect(body.result).toMatchObject({ member: 'dana', authenticated_by: 'access' })
  })
})

describe('a token that must be refused', () => {
  it.each([
    ['for another application (wrong aud)', () => sign(claims({ aud: ['b'.repeat(64)] }))],
    [
      'from another Access team (wrong iss)',
      () => sign(claims({ iss: 'https://evil.cloudflareaccess.com' })),
    ],
    ['without an issuer', () => sign(claims({ iss: undefined }))],
    ['that has expired', () => sign(claims({ exp: nowSeconds() - 120 }))],
    ['without an expiry', () => sign(claims({ exp: undefined }))],
    ['not valid yet', () => sign(claims({ nbf: nowSeconds() + 300 }))],
    ['signed by a key Access never published', async () => sign(claims(), keyB, keyA.kid)],
    [
      'with alg none',
      async () =>
        new UnsecuredJWT(claims())
          .encode()
          .replace(/^[^.]+/, (header) =>
            base64url.encode(JSON.stringify({ ...decode(header), kid: keyA.kid })),
          ),
    ],
    [
      'signed HS256 with the public key as the HMAC secret',
      async () =>
        new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid: keyA.kid })
          .sign(new TextEncoder().encode(await exportSPKI(keyA.publicKey))),
    ],
    [
      'signed HS256 with the public JWK as the HMAC secret',
      async () =>
        new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid: keyA.kid })
          .sign(new TextEncoder().encode(JSON.stringify(keyA.jwk))),
    ],
    ['that is garbage', async () => 'not-a-jwt'],
    ['that is three dots of garbage', async () => 'eyJhbGciOi.eyJzdWIi.c2ln'],
    ['that is empty', async () => ''],
    [
      "whose payload was changed to a member's email after signing",
      async () => tamper(await sign(claims({ email: 'mallory@example.com' }))),
    ],
  ])('answers a token %s with 401 / 18006 and forwards nothing', async (_, make) => {
    await expectRefused(await withToken(await make()), 401, 18006)
  })

  it('refuses an invalid token even when a valid gateway key is sent too', async () => {
    const token = await sign(claims({ aud: ['b'.repeat(64)] }))
    const result = await withToken(token, certificatesUrl(), {
      headers: { authorization: `Bearer ${KEYS.admin}` },
    })
    await expectRefused(result, 401, 18006)
  })

  it.each([
    ['an email no member has', { email: 'mallory@example.com' }, 18007],
    ['a service token no member has', { email: undefined, common_name: 'unknown.access' }, 18007],
    ['neither email nor common_name', { email: undefined }, 18007],
    ['an expired member', { email: 'erin@example.com' }, 18004],
    ['a revoked member', { email: 'Frank@example.com' }, 18005],
    // Unicode lowercases the Kelvin sign to `k`; only A-Z are folded, so this is no member.
    ['an email with the Kelvin sign for kate', { email: '\u212Aate@example.com' }, 18007],
  ])('answers a valid token for %s with 401 / %i', async (_, overrides, code) => {
    await expectRefused(await withToken(await sign(claims(overrides))), 401, code)
  })

  it('fails closed with 502 / 18008 when the key set cannot be used, logging no token', async () => {
    const lines: string[] = []
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(
        args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(' '),
      )
    })
    await emulator.setAccessKeys([{ ...keyA.jwk, n: 'AQAB', e: 'not-base64url!' }])
    const token = await sign(claims())
    await expectRefused(await withToken(token), 502, 18008)
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.join('\n')).not.toContain(token.split('.')[1])
    expect(lines.join('\n')).not.toContain(token.split('.')[2])
  })
})

describe('the key set cache', () => {
  it('refetches once for an unknown kid, refuses it, and does not refetch for every new kid', async () => {
    expect((await withToken(await sign(claims()))).status).toBe(200)
    expect(await fetches()).toBe(1)
    const forwarded = (await emulator.requests()).length

    clock.advance(31_000) // past the refetch cooldown
    const unknown = await withToken(await sign(claims(), keyA, 'unknown-kid'))
    expect({ status: unknown.status, code: unknown.body.errors[0]?.code }).toEqual({
      status: 401,
      code: 18006,
    })
    expect(await fetches()).toBe(2)

    // An attacker cycling kids: no further fetch within the cooldown.
    for (const kid of ['random-1', 'random-2', 'random-3', 'random-4', 'random-5']) {
      expect((await withToken(await sign(claims(), keyA, kid))).status).toBe(401)
    }
    expect(await fetches()).toBe(2)
    // Nothing refused went upstream, and the known key keeps working from the cache.
    expect((await emulator.requests()).length).toBe(forwarded)
    expect((await withToken(await sign(claims()))).status).toBe(200)
    expect(await fetches()).toBe(2)
  })

  it('accepts a rotated key whose kid appears only after the refetch', async () => {
    expect((await withToken(await sign(claims()))).status).toBe(200)
    expect(await fetches()).toBe(1)

    await emulator.setAccessKeys([keyA.jwk, keyB.jwk]) // Access publishes a new key
    clock.advance(31_000)
    const rotated = await withToken(await sign(claims(), keyB))
    expect(rotated.status).toBe(200)
    expect(await fetches()).toBe(2)

    // Cached from now on: neither key costs another fetch.
    expect((await withToken(await sign(claims(), keyB))).status).toBe(200)
    expect((await withToken(await sign(claims(), keyA))).status).toBe(200)
    expect(await fetches()).toBe(2)
  })

  it('within the cooldown, refuses a key published since the last fetch until it has passed', async () => {
    expect((await withToken(await sign(claims()))).status).toBe(200)
    await emulator.setAccessKeys([keyA.jwk, keyB.jwk])
    clock.advance(5_000)
    expect((await withToken(await sign(claims(), keyB))).status).toBe(401)
    expect(await fetches()).toBe(1)
    clock.advance(30_000)
    expect((await withToken(await sign(claims(), keyB))).status).toBe(200)
    expect(await fetches()).toBe(2)
  })
})

describe('without the assertion header, or without Access configured', () => {
  it('uses the key path: no key is 401 / 18001', async () => {
    await expectRefused(
      await callJson(certificatesUrl(), { key: null, env: ACCESS_ENV }),
      401,
      18001,
    )
    expect(await fetches()).toBe(0)
  })

  it('uses the key path: a valid key authenticates as its member', async () => {
    const { status, body } = await callJson(WHOAMI, { key: KEYS.admin, env: ACCESS_ENV })
    expect(status).toBe(200)
    expect(body.result).toMatchObject({ member: 'admin', authenticated_by: 'key' })
  })

  it('ignores the assertion when Access is not configured (nobody could verify it)', async () => {
    const token = await sign(claims())
    const result = await callJson(certificatesUrl(), {
      key: null,
      headers: { 'cf-access-jwt-assertion': token },
      env: { POLICY },
    })
    await expectRefused(result, 401, 18001)
    expect(await fetches()).toBe(0)
  })

  it.each([
    ['only ACCESS_TEAM_DOMAIN', { ACCESS_TEAM_DOMAIN: TEAM_DOMAIN }],
    ['only ACCESS_AUD', { ACCESS_AUD: AUD }],
    [
      'a plain-http team domain off loopback',
      { ...ACCESS_ENV, ACCESS_TEAM_DOMAIN: 'http://acme.example' },
    ],
    ['a team domain with a path', { ...ACCESS_ENV, ACCESS_TEAM_DOMAIN: `${TEAM_DOMAIN}/x` }],
  ])('refuses to serve (503 / 18501) when configured with %s', async (_, overrides) => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const token = await sign(claims())
    const result = await callJson(`${BASE}/accounts/${'0'.repeat(32)}/mtls_certificates`, {
      headers: { 'cf-access-jwt-assertion': token },
      env: { POLICY, ...overrides },
    })
    await expectRefused(result, 503, 18501)
  })
})

function decode(part: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64url.decode(part))) as Record<string, unknown>
}

/** Rewrites the payload to dana's email, keeping the original signature. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const forged = base64url.encode(JSON.stringify({ ...decode(payload), email: 'dana@example.com' }))
  return `${header}.${forged}.${signature}`
}
