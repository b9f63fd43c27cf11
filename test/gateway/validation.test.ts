/**
 * Every validation failure: its status, code and JSON pointer, and proof from the emulator's
 * request log that nothing reached the upstream.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { makeCertificate } from '../kit/certificates'
import { exampleCa, exampleKey } from '../kit/fixtures'
import { emulator } from '../support/emulator'
import {
  BASE,
  callJson,
  certificateUrl,
  certificatesUrl,
  upload,
  type CallOptions,
} from '../support/gateway'

beforeEach(async () => {
  await emulator.reset()
})

async function expectRefused(
  request: Promise<{
    status: number
    body: { success: boolean; errors: { code: number; source?: { pointer: string } }[] }
  }>,
  status: number,
  errors: { code: number; pointer?: string }[],
) {
  const { status: actual, body } = await request
  expect(actual).toBe(status)
  expect(body.success).toBe(false)
  expect(body.errors.map((e) => ({ code: e.code, pointer: e.source?.pointer }))).toEqual(
    errors.map((e) => ({ code: e.code, pointer: e.pointer })),
  )
  expect(await emulator.requests()).toEqual([])
}

describe('path parameters', () => {
  it.each([
    ['uppercase hex', '0123456789ABCDEF0123456789ABCDEF'],
    ['31 characters', '0123456789abcdef0123456789abcde'],
    ['a UUID', '01234567-89ab-cdef-0123-456789abcdef'],
    ['a traversal attempt', '..%2F..%2Fzones'],
  ])('refuses an account_id that is %s', async (_, account) => {
    await expectRefused(callJson(`${BASE}/accounts/${account}/mtls_certificates`), 400, [
      { code: 18101, pointer: '/account_id' },
    ])
  })

  it.each([
    ['an uppercase UUID', '2458CE5A-0C35-4C7F-82C7-8E9487D3FF60'],
    ['a UUID without one dash', '2458ce5a0c35-4c7f-82c7-8e9487d3ff60'],
    ['an encoded path', '..%2F..%2Fuser'],
    ['33 hex characters', '023e105f4ecef8ad9ca31a8372d0c3530'],
  ])('refuses a certificate id that is %s, on every endpoint', async (_, id) => {
    for (const [url, method] of [
      [certificateUrl(id), 'GET'],
      [certificateUrl(id), 'DELETE'],
      [`${certificateUrl(id)}/associations`, 'GET'],
    ] as const) {
      await expectRefused(callJson(url, { method }), 400, [
        { code: 18102, pointer: '/mtls_certificate_id' },
      ])
    }
  })
})

describe('list query', () => {
  it.each([
    ['an unknown type', '?type=custom,nonsense', '/type/1'],
    ['an unknown parameter', '?limit=5', '/limit'],
    ['a non-boolean ca', '?ca=yes', '/ca'],
    ['a repeated name', '?name=a&name=b', '/name'],
    ['a page that is not a number', '?page=two', '/page'],
  ])('refuses %s', async (_, query, pointer) => {
    await expectRefused(callJson(certificatesUrl() + query), 400, [{ code: 18103, pointer }])
  })
})

describe('upload body', () => {
  const json = (body: string, options: CallOptions = {}) =>
    callJson(certificatesUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      ...options,
    })

  it('refuses a body that is not JSON', async () => {
    await expectRefused(json('{"ca": true,'), 400, [{ code: 18110 }])
  })

  it('refuses an empty body', async () => {
    await expectRefused(json(''), 400, [{ code: 18110 }])
  })

  it.each([
    ['form data', 'application/x-www-form-urlencoded'],
    ['multipart form data', 'multipart/form-data; boundary=x'],
    ['HTML', 'text/html'],
    ['no media type', ''],
    ['JSON in another charset', 'application/json; charset=latin1'],
    ['text in another charset', 'text/plain; charset=iso-8859-1'],
    ['a media type that only starts like JSON', 'application/jsonx'],
  ])('refuses %s with 415', async (_, contentType) => {
    await expectRefused(
      callJson(certificatesUrl(), {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: '{}',
      }),
      415,
      [{ code: 18112, pointer: '/headers/content-type' }],
    )
  })

  // wrangler sends its uploads as text/plain;charset=UTF-8, and Cloudflare takes them.
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON;charset="UTF-8"',
    'text/plain',
    'text/plain;charset=UTF-8',
    'text/plain; charset=utf8',
  ])('takes JSON sent as %s', async (contentType) => {
    const ca = await makeCertificate({ ca: true })
    const { status, body } = await callJson<{ id: string }>(certificatesUrl(), {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: JSON.stringify({ ca: true, certificates: ca.pem }),
    })
    expect(status).toBe(200)
    expect(body.result.id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('refuses a body over the cap with 413, with or without Content-Length', async () => {
    const big = JSON.stringify({ ca: true, certificates: 'x'.repeat(70_000) })
    await expectRefused(json(big), 413, [{ code: 18113 }])
    const stream = new Blob([big]).stream()
    await expectRefused(
      callJson(certificatesUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as CallOptions),
      413,
      [{ code: 18113 }],
    )
  })

  it('honours a smaller configured cap', async () => {
    // The example CA is about 1.3 kB: under the default cap, over this one.
    await expectRefused(
      upload({ ca: true, certificates: exampleCa }, { env: { MAX_BODY_BYTES: '1024' } }),
      413,
      [{ code: 18113 }],
    )
  })

  it.each([
    ['ca missing', { certificates: exampleCa }, ['/ca']],
    ['certificates missing', { ca: true }, ['/certificates']],
    ['both missing', {}, ['/ca', '/certificates']],
    ['ca as a string', { ca: 'true', certificates: exampleCa }, ['/ca']],
    ['certificates as an array', { ca: true, certificates: [exampleCa] }, ['/certificates']],
    ['an empty certificates', { ca: true, certificates: '' }, ['/certificates']],
    ['name as a number', { ca: true, certificates: exampleCa, name: 7 }, ['/name']],
    [
      'a name over 255 characters',
      { ca: true, certificates: exampleCa, name: 'n'.repeat(256) },
      ['/name'],
    ],
    ['a name with a newline', { ca: true, certificates: exampleCa, name: 'a\nb' }, ['/name']],
    ['an unknown field', { ca: true, certificates: exampleCa, type: 'custom' }, ['/type']],
    [
      'two unknown fields',
      { ca: true, certificates: exampleCa, id: 'x', owner: 'y' },
      ['/id', '/owner'],
    ],
  ])('refuses a body with %s, pointing at each field', async (_, body, pointers) => {
    await expectRefused(
      upload(body),
      400,
      pointers.map((pointer) => ({ code: 18111, pointer })),
    )
  })

  it('answers at most 20 errors for a body of thousands of unknown fields, counting the rest', async () => {
    const body: Record<string, unknown> = { ca: true, certificates: exampleCa }
    for (let i = 0; i < 3_000; i++) body[`f${i}`] = 1
    const { status, body: answer } = await upload(body)
    expect(status).toBe(400)
    const errors = answer.errors as {
      code: number
      message: string
      source?: { pointer: string }
    }[]
    expect(errors).toHaveLength(20)
    expect(errors.slice(0, 19).map((e) => e.source?.pointer)).toEqual(
      Array.from({ length: 19 }, (_, i) => `/f${i}`),
    )
    expect(errors[19]).toEqual({
      code: 18111,
      message: 'and 2,981 more problems, not listed',
      source: { pointer: '' },
    })
    expect(await emulator.requests()).toEqual([])
  })

  it('answers every error when there are exactly 20', async () => {
    const body: Record<string, unknown> = { ca: true, certificates: exampleCa }
    for (let i = 0; i < 20; i++) body[`f${i}`] = 1
    const { body: answer } = await upload(body)
    const errors = answer.errors as { source?: { pointer: string } }[]
    expect(errors.map((e) => e.source?.pointer)).toEqual(
      Array.from({ length: 20 }, (_, i) => `/f${i}`),
    )
  })

  it('refuses a JSON body that is not an object', async () => {
    await expectRefused(json('[1,2]'), 400, [{ code: 18111, pointer: '' }])
  })
})

describe('upload PEM checks', () => {
  it('refuses certificates that are not PEM', async () => {
    await expectRefused(upload({ ca: true, certificates: 'hello' }), 400, [
      { code: 18120, pointer: '/certificates' },
    ])
  })

  it('refuses a PEM certificate that does not parse', async () => {
    const broken = exampleCa.replace('MIIDmDCC', 'MIIDmDCD')
    await expectRefused(upload({ ca: true, certificates: broken }), 400, [
      { code: 18120, pointer: '/certificates' },
    ])
  })

  it('refuses a chain whose second block does not decode, instead of forwarding it', async () => {
    const damaged = '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n'
    await expectRefused(upload({ ca: true, certificates: `${exampleCa}\n${damaged}` }), 400, [
      { code: 18120, pointer: '/certificates' },
    ])
  })

  it('refuses a key inside certificates', async () => {
    await expectRefused(upload({ ca: true, certificates: `${exampleCa}\n${exampleKey}` }), 400, [
      { code: 18121, pointer: '/certificates' },
    ])
  })

  it('refuses ca:true for a leaf certificate', async () => {
    const leaf = await makeCertificate({ ca: false })
    await expectRefused(upload({ ca: true, certificates: leaf.pem }), 400, [
      { code: 18122, pointer: '/certificates' },
    ])
  })

  it('refuses a private_key that is not a key', async () => {
    await expectRefused(upload({ ca: true, certificates: exampleCa, private_key: 'secret' }), 400, [
      { code: 18123, pointer: '/private_key' },
    ])
  })

  it("refuses a private_key that is not the certificate's", async () => {
    const other = await makeCertificate()
    await expectRefused(
      upload({ ca: true, certificates: exampleCa, private_key: other.keyPem }),
      400,
      [{ code: 18124, pointer: '/private_key' }],
    )
  })

  it('never echoes the private key it refused', async () => {
    const other = await makeCertificate()
    const { text } = await upload({ ca: true, certificates: exampleCa, private_key: other.keyPem })
    expect(text).not.toContain(other.keyPem.split('\n')[1])
  })
})
