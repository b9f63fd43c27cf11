/**
 * Private keys through the Worker: the three unencrypted formats the upstream takes (PKCS#8,
 * PKCS#1 RSA, SEC1 EC) are accepted when they match the first certificate and forwarded exactly as
 * sent; a mismatch, an encrypted key or a header-carrying block is refused with its own code and
 * pointer, and nothing reaches the upstream. No answer ever carries the key.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { KEYS, keyCases } from '../fixtures/keys'
import { emulator } from '../support/emulator'
import { callJson, certificateUrl, certificatesUrl, upload } from '../support/gateway'

beforeEach(async () => {
  await emulator.reset()
})

/** The base64 lines of a PEM: none of them may appear in an answer. */
const bodyLines = (pem: string) =>
  pem.split('\n').filter((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line))

function expectNoKeyIn(text: string, key: string) {
  expect(text).not.toContain('PRIVATE KEY')
  for (const line of bodyLines(key)) expect(text).not.toContain(line)
}

describe('accepted key formats', () => {
  it.each(keyCases.matching)(
    'uploads a leaf with %s and forwards the key as sent',
    async (_, certificates, key) => {
      const { status, body, text } = await upload({ ca: false, certificates, private_key: key })
      expect(status).toBe(200)
      expect(body.success).toBe(true)
      expectNoKeyIn(text, key)

      const [request, ...more] = await emulator.requests()
      expect(more).toEqual([])
      expect(JSON.parse(request!.body!)).toEqual({ ca: false, certificates, private_key: key })

      const id = String(body.result.id)
      for (const url of [certificateUrl(id), certificatesUrl()]) {
        const read = await callJson(url)
        expect(read.status).toBe(200)
        expectNoKeyIn(read.text, key)
      }
    },
  )
})

async function expectRefused(
  body: Record<string, unknown>,
  code: number,
  pointer: string,
  key: string,
) {
  const { status, body: answer, text } = await upload(body)
  expect(status).toBe(400)
  expect(answer.success).toBe(false)
  expect(answer.errors.map((e) => ({ code: e.code, pointer: e.source?.pointer }))).toEqual([
    { code, pointer },
  ])
  for (const line of bodyLines(key)) expect(text).not.toContain(line)
  expect(await emulator.requests()).toEqual([])
}

describe('refused keys', () => {
  it.each(keyCases.mismatched)('refuses %s with 18124', async (_, certificates, key) => {
    await expectRefused({ ca: false, certificates, private_key: key }, 18124, '/private_key', key)
  })

  it.each([
    ['an encrypted PKCS#8 key', KEYS.rsaCert, KEYS.rsaEncrypted],
    ['a legacy encrypted PKCS#1 key', KEYS.rsaCert, KEYS.rsaLegacyEncrypted],
    ['a legacy encrypted SEC1 key', KEYS.p256Cert, KEYS.p256LegacyEncrypted],
  ])('refuses %s in private_key with 18125', async (_, certificates, key) => {
    await expectRefused({ ca: false, certificates, private_key: key }, 18125, '/private_key', key)
  })

  it.each([
    ['an encrypted PKCS#8 key', KEYS.rsaEncrypted],
    ['a legacy encrypted PKCS#1 key', KEYS.rsaLegacyEncrypted],
  ])('refuses %s inside certificates with 18125', async (_, key) => {
    await expectRefused(
      { ca: false, certificates: `${KEYS.rsaCert}${key}` },
      18125,
      '/certificates',
      key,
    )
  })

  it('refuses a certificate block with Proc-Type and DEK-Info headers with 18125', async () => {
    const certificates = KEYS.rsaCert.replace(
      'CERTIFICATE-----\n',
      'CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n',
    )
    await expectRefused({ ca: false, certificates }, 18125, '/certificates', '')
  })

  it('refuses blocks with other header lines with 18126, pointing at the field', async () => {
    const header = (pem: string) => pem.replace(/-----\n/, '-----\nComment: hello\n\n')
    await expectRefused(
      { ca: false, certificates: header(KEYS.p256Cert) },
      18126,
      '/certificates',
      '',
    )
    await expectRefused(
      { ca: false, certificates: KEYS.p256Cert, private_key: header(KEYS.p256Sec1) },
      18126,
      '/private_key',
      KEYS.p256Sec1,
    )
  })

  it.each([
    ['an EC key on secp256k1', KEYS.secp256k1Sec1],
    ['a key file with an EC PARAMETERS block', KEYS.p256WithParams],
  ])('refuses %s with 18123', async (_, key) => {
    await expectRefused(
      { ca: false, certificates: KEYS.p256Cert, private_key: key },
      18123,
      '/private_key',
      key,
    )
  })
})
