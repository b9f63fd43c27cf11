/**
 * Certificates made on the spot with @peculiar/x509 and WebCrypto, for both Workers' tests: CA or
 * leaf, EC, RSA or RSA-PSS, self-signed or signed by another, with their PKCS#8 key. Tests never
 * depend on more committed fixtures than the example CA (`fixtures.ts`).
 *
 * Every certificate is new (fresh key, unique serial and subject), so two uploads never collide as
 * duplicates unless a test means them to. EC P-256 by default because RSA key generation is slow.
 */
// tsyringe, which @peculiar/x509 uses, throws at import time without a Reflect metadata API.
import '@abraham/reflection'
import {
  BasicConstraintsExtension,
  PemConverter,
  X509Certificate,
  X509CertificateGenerator,
  type X509CertificateCreateParams,
} from '@peculiar/x509'

export type KeyKind = 'ec' | 'rsa' | 'rsa-pss'
export type SigningAlgorithm = X509CertificateCreateParams['signingAlgorithm']

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
}
const KEY_ALGORITHMS: Record<KeyKind, SubtleCryptoGenerateKeyAlgorithm> = {
  ec: { name: 'ECDSA', namedCurve: 'P-256' },
  rsa: RSA,
  'rsa-pss': { ...RSA, name: 'RSA-PSS' },
}

export interface MadeCertificate {
  pem: string
  /** The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string
  cert: X509Certificate
  keys: CryptoKeyPair
}

export interface CertificateOptions {
  /** basicConstraints CA:TRUE; otherwise a leaf (CA:FALSE). Default: a leaf. */
  ca?: boolean
  kind?: KeyKind
  /** Default: `CN=Test <n>`, unique within the run. */
  subject?: string
  /** Signs the certificate and names its issuer; self-signed without one. */
  issuer?: MadeCertificate
  /** Hex. Default: unique within the run. */
  serialNumber?: string
  /** Default: a minute ago, so that the certificate is valid at once whatever the clock skew. */
  notBefore?: Date
  /** Default: a year after now. */
  notAfter?: Date
  /** Default: the signer's key algorithm (with SHA-256 for ECDSA, whose keys carry no hash). */
  signingAlgorithm?: SigningAlgorithm
}

let made = 0

export async function makeCertificate(options: CertificateOptions = {}): Promise<MadeCertificate> {
  made += 1
  const { ca = false, kind = 'ec', issuer } = options
  const subject = options.subject ?? `CN=Test ${made}`
  const keys = (await crypto.subtle.generateKey(KEY_ALGORITHMS[kind], true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const signer = issuer?.keys ?? keys
  const signingAlgorithm =
    options.signingAlgorithm ??
    (signer.privateKey.algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : {})
  const cert = await X509CertificateGenerator.create({
    // Zero-padded so that the DER integer is positive; the time part differs between runs.
    serialNumber:
      options.serialNumber ?? made.toString(16).padStart(4, '0') + Date.now().toString(16),
    subject,
    issuer: issuer?.cert.subject ?? subject,
    notBefore: options.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * 86_400_000),
    publicKey: keys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm,
    extensions: [new BasicConstraintsExtension(ca, undefined, true)],
  })
  const pkcs8 = (await crypto.subtle.exportKey('pkcs8', keys.privateKey)) as ArrayBuffer
  return {
    pem: cert.toString('pem'),
    keyPem: PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    cert,
    keys,
  }
}
