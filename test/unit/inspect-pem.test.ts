import { describe, expect, it } from 'vitest'
import { inspectCertificates, inspectPrivateKey } from '../../src/certificates/inspect-pem'
import { makeCertificate } from '../kit/certificates'
import { exampleCa, exampleKey } from '../kit/fixtures'

async function first(pem: string) {
  const result = await inspectCertificates(pem, false)
  if (!result.ok) throw new Error(result.message)
  return result.value.first
}

describe('inspectCertificates', () => {
  it('describes the example CA: decimal serial and the SHA-256 of its DER', async () => {
    const result = await inspectCertificates(exampleCa, true)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.value.info.serialNumber).toBe('235217144297995885180570755458463043449861756659')
    expect(result.value.info.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(result.value.info.count).toBe(1)
  })

  it('counts every certificate of a chain and describes the first', async () => {
    const root = await makeCertificate({ ca: true, subject: 'CN=Root' })
    const leaf = await makeCertificate({ subject: 'CN=Leaf', issuer: root })
    const result = await inspectCertificates(`${leaf.pem}\n${root.pem}\n`, false)
    expect(result.ok && result.value.info.count).toBe(2)
    expect(result.ok && result.value.first.subject).toBe('CN=Leaf')
  })

  it.each([
    ['an empty document', ''],
    ['text that is not PEM', 'hello'],
    ['a certificate with text after it', `${exampleCa}\ntrailing words`],
    ['a certificate whose base64 is damaged', exampleCa.replace('MIIDmDCC', 'MIIDmDCD')],
    ['a block that is not DER', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
  ])('refuses %s as unparsable', async (_, pem) => {
    const result = await inspectCertificates(pem, false)
    expect(result).toMatchObject({ ok: false, kind: 'CERTIFICATE_UNPARSABLE' })
  })

  it('refuses a private key mixed into the certificates, naming the block type', async () => {
    const result = await inspectCertificates(`${exampleCa}\n${exampleKey}`, false)
    expect(result).toMatchObject({ ok: false, kind: 'CERTIFICATE_FOREIGN_BLOCK' })
    expect(!result.ok && result.message).toContain('PRIVATE KEY')
    expect(!result.ok && result.message).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw')
  })

  it('refuses ca:true when the first certificate is not a CA, accepts it as a leaf', async () => {
    const leaf = await makeCertificate({ ca: false })
    expect(await inspectCertificates(leaf.pem, true)).toMatchObject({
      ok: false,
      kind: 'CERTIFICATE_NOT_CA',
    })
    expect(await inspectCertificates(leaf.pem, false)).toMatchObject({ ok: true })
  })
})

describe('inspectPrivateKey', () => {
  it('accepts the example key for the example CA (RSA)', async () => {
    expect(await inspectPrivateKey(exampleKey, await first(exampleCa))).toEqual({
      ok: true,
      value: null,
    })
  })

  it('accepts a matching EC key and refuses another EC key', async () => {
    const a = await makeCertificate()
    const b = await makeCertificate()
    expect(await inspectPrivateKey(a.keyPem, a.cert)).toEqual({ ok: true, value: null })
    expect(await inspectPrivateKey(b.keyPem, a.cert)).toMatchObject({
      ok: false,
      kind: 'PRIVATE_KEY_MISMATCH',
    })
  })

  it('refuses a key of another algorithm as a mismatch', async () => {
    const ec = await makeCertificate()
    expect(await inspectPrivateKey(ec.keyPem, await first(exampleCa))).toMatchObject({
      ok: false,
      kind: 'PRIVATE_KEY_MISMATCH',
    })
  })

  it.each([
    ['not PEM', 'not a key'],
    ['a certificate', exampleCa],
    ['a PKCS#1 key', exampleKey.replaceAll('PRIVATE KEY', 'RSA PRIVATE KEY')],
    ['an encrypted key', exampleKey.replaceAll('PRIVATE KEY', 'ENCRYPTED PRIVATE KEY')],
    ['two keys', `${exampleKey}\n${exampleKey}`],
    [
      'a damaged key',
      exampleKey.replace(
        'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw',
        'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcx',
      ),
    ],
  ])('refuses %s as unparsable', async (_, pem) => {
    expect(await inspectPrivateKey(pem, await first(exampleCa))).toMatchObject({
      ok: false,
      kind: 'PRIVATE_KEY_UNPARSABLE',
    })
  })
})
