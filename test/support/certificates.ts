/**
 * Certificates made on the spot with @peculiar/x509 and WebCrypto: CA and leaf, RSA and EC, with
 * their PKCS#8 keys. EC P-256 by default because RSA key generation is slow.
 */
// tsyringe, which @peculiar/x509 uses, needs the Reflect metadata API before x509 loads.
import '@abraham/reflection'
import * as x509 from '@peculiar/x509'

export type KeyKind = 'ec' | 'rsa'

const ALGORITHMS = {
  ec: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  rsa: {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
} as const

export interface Made {
  pem: string
  keyPem: string
  cert: x509.X509Certificate
  keys: CryptoKeyPair
}

let serial = 1

export async function makeCertificate(
  options: { ca?: boolean; kind?: KeyKind; name?: string; issuer?: Made; notAfter?: Date } = {},
): Promise<Made> {
  const { ca = true, kind = 'ec', name = `CN=Test ${serial}`, issuer, notAfter } = options
  const algorithm = ALGORITHMS[kind]
  const keys = (await crypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(4, '0') + Date.now().toString(16),
    subject: name,
    issuer: issuer ? issuer.cert.subject : name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: notAfter ?? new Date(Date.now() + 365 * 86_400_000),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: issuer ? issuer.keys.privateKey : keys.privateKey,
    extensions: [new x509.BasicConstraintsExtension(ca, ca ? 1 : undefined, true)],
  })
  const pkcs8 = (await crypto.subtle.exportKey('pkcs8', keys.privateKey)) as ArrayBuffer
  return {
    pem: cert.toString('pem'),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    cert,
    keys,
  }
}
