/**
 * Who gets in, and what never leaks: the stored token never reaches a caller, a caller's key
 * never reaches the upstream, and nothing a caller sends in headers is relayed.
 */
import { env } from 'cloudflare:test'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { exampleCa, exampleKey, exampleKeyLine } from '../kit/fixtures'
import { emulator } from '../support/emulator'
import {
  call,
  callJson,
  certificateUrl,
  certificatesUrl,
  upload,
  uploadedId,
} from '../support/gateway'
import { KEYS, UPSTREAM_TOKEN } from '../support/identities'

beforeEach(async () => {
  await emulator.reset()
})

describe('authentication', () => {
  it.each([
    ['no Authorization header', { key: null }, 18001],
    ['an empty Authorization header', { key: null, headers: { authorization: '' } }, 18001],
    ['Basic credentials', { key: null, headers: { authorization: 'Basic YWxpY2U6cHc=' } }, 18002],
    ['a bearer token without the prefix', { key: 'not-a-gateway-key' }, 18002],
    ['a key one character short', { key: KEYS.alice.slice(0, -1) }, 18002],
    ['the upstream token itself', { key: UPSTREAM_TOKEN }, 18002],
    ['an unknown well-formed key', { key: `mtlsgw_${'Z'.repeat(43)}` }, 18003],
    ['an expired key', { key: KEYS.expired }, 18004],
    ['a revoked key', { key: KEYS.revoked }, 18005],
  ])('answers %s with 401 in the envelope and forwards nothing', async (_, options, code) => {
    const { response, body } = await callJson(certificatesUrl(), options)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="mtls-gateway"')
    expect(body).toEqual({
      success: false,
      errors: [{ code, message: expect.any(String) }],
      messages: [],
      result: null,
    })
    expect(await emulator.requests()).toEqual([])
  })

  it('authenticates before it validates: a bad key and a bad body get 401, not 400', async () => {
    const { status } = await upload({ nonsense: true }, { key: null })
    expect(status).toBe(401)
  })

  it('authenticates unknown routes under the API prefix before saying 404', async () => {
    expect((await call(`${certificatesUrl()}/a/b/c`, { key: null })).status).toBe(401)
  })

  it('accepts the bearer scheme case-insensitively', async () => {
    const { status } = await callJson(certificatesUrl(), {
      key: null,
      headers: { authorization: `bearer ${KEYS.alice}` },
    })
    expect(status).toBe(200)
  })
})

describe('what never crosses the gateway', () => {
  it("sends the stored token upstream and never the caller's key or other headers", async () => {
    await callJson(certificatesUrl(), {
      headers: {
        'x-auth-key': '144c9defac04969c7bfad8efaa8ea194',
        'x-auth-email': 'user@example.com',
        cookie: 'session=abc',
        'x-forwarded-for': '10.0.0.1',
        'cf-access-jwt-assertion': 'eyJhbGciOi',
      },
    })
    const [request] = await emulator.requests()
    expect(request!.headers.authorization).toBe(`Bearer ${UPSTREAM_TOKEN}`)
    const sent = JSON.stringify(request)
    for (const leaked of [
      KEYS.alice,
      '144c9defac04969c7bfad8efaa8ea194',
      'user@example.com',
      'session=abc',
      '10.0.0.1',
      'eyJhbGciOi',
    ]) {
      expect(sent).not.toContain(leaked)
    }
  })

  it('never puts the stored token in any response body or header, on any path', async () => {
    const id = await uploadedId({ ca: true, certificates: exampleCa, private_key: exampleKey })
    await emulator.addFaults({ kind: 'status', status: 500, times: 3 })
    const responses = [
      await call(certificatesUrl()),
      await call(certificateUrl(id)),
      await call(`${certificateUrl(id)}/associations`),
      await call(certificateUrl(id), { method: 'DELETE' }),
      await call(certificatesUrl(), { key: null }),
      await call(certificatesUrl(), { env: { CLOUDFLARE_API_TOKEN: UPSTREAM_TOKEN, POLICY: '{' } }),
      await call(certificatesUrl(), { env: { CLOUDFLARE_API_TOKEN: 'wrong-token-for-upstream' } }),
      await call('https://gateway.test/openapi.json'),
    ]
    for (const response of responses) {
      const headers = JSON.stringify([...response.headers])
      const body = await response.text()
      expect(body + headers).not.toContain(UPSTREAM_TOKEN)
      expect(body + headers).not.toContain('wrong-token-for-upstream')
      expect(body).not.toContain(exampleKeyLine)
    }
  })

  it('reports an upstream refusal of its own token as 502, not as the caller being forbidden', async () => {
    const { status, body } = await callJson(certificatesUrl(), {
      env: { CLOUDFLARE_API_TOKEN: 'wrong-token-for-upstream' },
    })
    expect(status).toBe(502)
    expect(body.errors.map((e) => e.code)).toEqual([18505, 10000])
  })
})

describe('what never reaches a log line', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('logs no token, caller key or private key, whatever goes wrong', async () => {
    const lines: string[] = []
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(
          args
            .map((a) =>
              a instanceof Error ? `${a.message} ${a.stack} ${String(a.cause)}` : String(a),
            )
            .join(' '),
        )
      })
    }
    const other = `mtlsgw_${'Z'.repeat(43)}`
    await upload({ ca: true, certificates: exampleCa, private_key: exampleKey })
    await upload({ ca: true, certificates: exampleCa, private_key: 'not a key but secret-ish' })
    await call(certificatesUrl(), { key: other })
    await call(certificatesUrl(), { env: { CLOUDFLARE_API_TOKEN: 'wrong-token-for-upstream' } })
    await call(certificatesUrl(), {
      env: { CLOUDFLARE_API_TOKEN: UPSTREAM_TOKEN, POLICY: '{"version":1}' },
    })
    await emulator.addFaults({ kind: 'drop', times: 3 }, { kind: 'status', status: 500, times: 3 })
    await call(certificatesUrl())
    await call(certificatesUrl())
    await emulator.addFaults({ kind: 'latency', ms: 800, match: { method: 'POST' } })
    await upload(
      { ca: true, certificates: exampleCa, private_key: exampleKey },
      { env: { UPSTREAM_TIMEOUT_MS: '200' } },
    )

    // The failures above are logged (5xx are), so this checks real lines, not an empty log.
    expect(lines.length).toBeGreaterThanOrEqual(4)
    const logged = lines.join('\n')
    for (const secret of [
      UPSTREAM_TOKEN,
      'wrong-token-for-upstream',
      KEYS.alice,
      other,
      exampleKeyLine,
    ]) {
      expect(logged).not.toContain(secret)
    }
  })
})

describe('fails closed', () => {
  it.each([
    ['no token', { CLOUDFLARE_API_TOKEN: '' }],
    ['a policy that does not parse', { POLICY: '{' }],
    ['a policy with an error', { POLICY: '{"version":1,"teams":[],"members":[]}' }],
    [
      'the demo policy in front of Cloudflare',
      { UPSTREAM_BASE_URL: 'https://api.cloudflare.com/client/v4' },
    ],
  ])(
    'answers every request with 503 when configured with %s, forwarding nothing',
    async (name, overrides) => {
      const demo = name.includes('demo')
        ? { POLICY: JSON.stringify((await import('../../demo/policy.json')).default) }
        : {}
      const { status, body, response } = await callJson(certificatesUrl(), {
        env: { ...overrides, ...demo } as Partial<Env>,
      })
      expect(status).toBe(503)
      expect(body.errors[0]!.code).toBe(18501)
      expect(response.headers.get('x-should-retry')).toBe('false')
      expect(await emulator.requests()).toEqual([])
    },
  )

  it('keeps serving normally with the suite configuration (the control for the cases above)', async () => {
    expect((await callJson(certificatesUrl(), { env: { POLICY: env.POLICY } })).status).toBe(200)
  })
})
