import { PemConverter } from '@peculiar/x509'
import { describe, expect, it } from 'vitest'
import { hex } from '../../src/lib/encoding'
import { inspectCertificates, inspectPrivateKey, toPkcs8 } from '../../src/lib/inspect-pem'
import { KEYS, keyCases } from '../fixtures/keys'
import { makeCertificate, type SigningAlgorithm } from '../kit/certificates'
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
    const leafDigest = await crypto.subtle.digest('SHA-256', leaf.cert.rawData)
    expect(result.ok && result.value.info.fingerprintSha256).toBe(hex(new Uint8Array(leafDigest)))
  })

  it.each([
    ['an empty document', ''],
    ['text that is not PEM', 'hello'],
    ['a certificate with text after it', `${exampleCa}\ntrailing words`],
    ['a certificate whose base64 is damaged', exampleCa.replace('MIIDmDCC', 'MIIDmDCD')],
    ['a block that is not DER', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
    [
      'a certificate followed by a block that is not base64',
      `${exampleCa}\n-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n`,
    ],
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
    expect(await inspectPrivateKey(a.keyPem, await first(a.pem))).toEqual({ ok: true, value: null })
    expect(await inspectPrivateKey(b.keyPem, await first(a.pem))).toMatchObject({
      ok: false,
      kind: 'PRIVATE_KEY_MISMATCH',
    })
  })

  it.each(['rsa', 'rsa-pss'] as const)('accepts a %s key for its own certificate', async (kind) => {
    const options = {
      kind,
      ...(kind === 'rsa-pss' && {
        signingAlgorithm: { name: 'RSA-PSS', saltLength: 32 } as SigningAlgorithm,
      }),
    }
    const made = await makeCertificate(options)
    const other = await makeCertificate(options)
    expect(await inspectPrivateKey(made.keyPem, await first(made.pem))).toEqual({
      ok: true,
      value: null,
    })
    expect(await inspectPrivateKey(other.keyPem, await first(made.pem))).toMatchObject({
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
    ['a PKCS#8 key under a PKCS#1 label', exampleKey.replaceAll('PRIVATE KEY', 'RSA PRIVATE KEY')],
    ['a PKCS#1 key under a SEC1 label', KEYS.rsaPkcs1.replaceAll('RSA PRIVATE', 'EC PRIVATE')],
    ['a public key', '-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n'],
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

const der = (pem: string) => PemConverter.decodeFirst(pem)

describe('inspectPrivateKey: PKCS#8, PKCS#1 and SEC1 keys (fixtures made by openssl)', () => {
  it.each(keyCases.matching)('accepts %s for its certificate', async (_, cert, key) => {
    expect(await inspectPrivateKey(key, await first(cert))).toEqual({ ok: true, value: null })
  })

  it.each(keyCases.mismatched)('refuses %s as a mismatch', async (_, cert, key) => {
    expect(await inspectPrivateKey(key, await first(cert))).toMatchObject({
      ok: false,
      kind: 'PRIVATE_KEY_MISMATCH',
    })
  })

  it('wraps PKCS#1 and SEC1 into the same PKCS#8 bytes as openssl pkcs8 -topk8 -nocrypt', () => {
    for (const [key, pkcs8] of [
      [KEYS.rsaPkcs1, KEYS.rsaPkcs8],
      [KEYS.p256Sec1, KEYS.p256Pkcs8],
    ] as const) {
      const type = key.split('\n')[0]?.replace(/-----(BEGIN )?/g, '') ?? ''
      const wrapped = toPkcs8(type, der(key))
      expect(wrapped.ok).toBe(true)
      if (wrapped.ok) expect(new Uint8Array(wrapped.value)).toEqual(new Uint8Array(der(pkcs8)))
    }
  })

  it('reads keys with CRLF line ends, as node-forge (wrangler e2e) writes them', async () => {
    const crlf = (pem: string) => pem.replace(/\n/g, '\r\n')
    for (const [cert, key] of [
      [KEYS.rsaCert, KEYS.rsaPkcs1],
      [KEYS.p384Cert, KEYS.p384Sec1],
    ] as const) {
      expect(await inspectPrivateKey(crlf(key), await first(crlf(cert)))).toEqual({
        ok: true,
        value: null,
      })
    }
  })

  it('refuses an EC key on a curve outside P-256, P-384 and P-521, saying so', async () => {
    const result = await inspectPrivateKey(KEYS.secp256k1Sec1, await first(KEYS.p256Cert))
    expect(result).toMatchObject({ ok: false, kind: 'PRIVATE_KEY_UNPARSABLE' })
    expect(!result.ok && result.message).toContain('P-256, P-384 or P-521')
  })

  it('refuses the EC PARAMETERS block openssl ecparam -genkey writes before the key', async () => {
    const result = await inspectPrivateKey(KEYS.p256WithParams, await first(KEYS.p256Cert))
    expect(result).toMatchObject({ ok: false, kind: 'PRIVATE_KEY_UNPARSABLE' })
    expect(!result.ok && result.message).toContain('EC PARAMETERS')
  })
})

/** The base64 lines of a PEM: none of them may ever appear in a message. */
const bodyLines = (pem: string) =>
  pem.split('\n').filter((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line))

describe('encrypted and header-carrying PEM blocks', () => {
  it.each([
    ['PKCS#8 encrypted (ENCRYPTED PRIVATE KEY)', KEYS.rsaEncrypted, KEYS.rsaCert],
    ['legacy encrypted PKCS#1 (Proc-Type, DEK-Info)', KEYS.rsaLegacyEncrypted, KEYS.rsaCert],
    ['legacy encrypted SEC1 (Proc-Type, DEK-Info)', KEYS.p256LegacyEncrypted, KEYS.p256Cert],
  ])('refuses a %s private_key as encrypted', async (_, key, cert) => {
    const result = await inspectPrivateKey(key, await first(cert))
    expect(result).toMatchObject({ ok: false, kind: 'PEM_ENCRYPTED' })
    expect(!result.ok && result.message).toMatch(/^private_key holds an encrypted /)
    for (const line of bodyLines(key)) expect(!result.ok && result.message).not.toContain(line)
  })

  it('refuses a key block with other header lines as carrying headers', async () => {
    const key = KEYS.p256Sec1.replace('KEY-----\n', 'KEY-----\nComment: made by openssl\n\n')
    expect(await inspectPrivateKey(key, await first(KEYS.p256Cert))).toMatchObject({
      ok: false,
      kind: 'PEM_HEADERS',
    })
  })

  it.each([
    ['an encrypted key after the certificate', `${KEYS.rsaCert}${KEYS.rsaEncrypted}`],
    ['a legacy encrypted key after the certificate', `${KEYS.rsaCert}${KEYS.rsaLegacyEncrypted}`],
    [
      'a certificate with Proc-Type and DEK-Info headers',
      KEYS.rsaCert.replace(
        'CERTIFICATE-----\n',
        'CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n',
      ),
    ],
  ])('refuses certificates holding %s as encrypted', async (_, pem) => {
    const result = await inspectCertificates(pem, false)
    expect(result).toMatchObject({ ok: false, kind: 'PEM_ENCRYPTED' })
    expect(!result.ok && result.message).toMatch(/^certificates holds an encrypted /)
  })

  it('refuses certificates whose block carries other header lines', async () => {
    const pem = KEYS.rsaCert.replace('CERTIFICATE-----\n', 'CERTIFICATE-----\nComment: hello\n\n')
    expect(await inspectCertificates(pem, false)).toMatchObject({ ok: false, kind: 'PEM_HEADERS' })
  })
})
