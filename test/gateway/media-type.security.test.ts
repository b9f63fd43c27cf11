/**
 * Upload bodies are taken as JSON sent as `text/plain` too (wrangler does), which is what a
 * browser may send cross-site without a preflight. That is safe only because the gateway never
 * authenticates by anything a browser adds by itself: these tests keep it so.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { makeCertificate } from '../kit/certificates'
import { emulator } from '../support/emulator'
import { call, callJson, certificatesUrl } from '../support/gateway'
import { KEYS } from '../support/identities'

beforeEach(async () => {
  await emulator.reset()
})

const formPost = async (headers: Record<string, string>) => {
  const ca = await makeCertificate({ ca: true })
  return callJson(certificatesUrl(), {
    method: 'POST',
    key: null,
    headers: { 'content-type': 'text/plain', ...headers },
    body: JSON.stringify({ ca: true, certificates: ca.pem }),
  })
}

describe('a cross-site text/plain post', () => {
  it.each([
    ['no credential', {}],
    ['a gateway key in a cookie', { cookie: `mtlsgw=${KEYS.alice}; session=${KEYS.alice}` }],
    ['the origin of a browser page', { origin: 'https://evil.example', cookie: 'a=b' }],
  ])('with %s is refused 401 and forwards nothing', async (_, headers) => {
    const { status, body } = await formPost(headers)
    expect(status).toBe(401)
    expect(body.errors[0]!.code).toBe(18001)
    expect(await emulator.requests()).toEqual([])
  })

  it('goes upstream as application/json, whatever media type the caller used', async () => {
    const ca = await makeCertificate({ ca: true })
    const response = await call(certificatesUrl(), {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: JSON.stringify({ ca: true, certificates: ca.pem }),
    })
    expect(response.status).toBe(200)
    const [forwarded] = (await emulator.requests()).filter((r) => r.method === 'POST')
    expect(forwarded!.headers['content-type']).toBe('application/json')
  })
})
