/**
 * Certificates made on the spot in Node (@peculiar/x509 over WebCrypto): a CA and leaves it
 * signed, with their private keys in each PEM form a client may send: PKCS#8 (`PRIVATE KEY`),
 * PKCS#1 (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`), the last two converted by node:crypto.
 */
// tsyringe, which @peculiar/x509 uses, needs the Reflect metadata API before x509 loads.
import '@abraham/reflection'
import { createPrivateKey, webcrypto } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import * as x509 from '@peculiar/x509'

type Kind = 'p256' | 'p384' | 'rsa'

const GO_SIGNATURE = { p256: 'ECDSAWithSHA256', p384: 'ECDSAWithSHA384', rsa: 'SHA256WithRSA' }

const ALGORITHMS = {
  p256: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  p384: { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
  rsa: {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
} as const

export interface Made {
  /** The certificate, PEM. */
  pem: string
  /** Its private key, PKCS#8 PEM. */
  pkcs8: string
  /** The same key as PKCS#1 (RSA) or SEC1 (EC). */
  traditional: string
  subject: string
  /** The issuer's subject, as Go prints it (CN first, then O: the order it is written in here). */
  issuer: string
  kind: Kind
  /** The signature algorithm as Go names it (what `signature` must say): the issuer's key decides. */
  signature: string
  cert: x509.X509Certificate
  keys: webcrypto.CryptoKeyPair
}

let serial = 1

export async function makeCertificate(
  options: { ca?: boolean; kind?: Kind; cn?: string; issuer?: Made; validDays?: number } = {},
): Promise<Made> {
  const { ca = false, kind = 'p256', issuer } = options
  const n = serial++
  const subject = `CN=${options.cn ?? `e2e ${ca ? 'CA' : 'leaf'} ${n}`},O=mtls-gateway e2e`
  const algorithm = ALGORITHMS[kind]
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `${n.toString(16).padStart(4, '0')}${Date.now().toString(16)}`,
    subject,
    issuer: issuer ? issuer.subject : subject,
    notBefore: new Date(Date.now() - 60_000),
    // A year by default: clear of the demo policy's shadow rule on certificates expiring within 30 days.
    notAfter: new Date(Date.now() + (options.validDays ?? 365) * 86_400_000),
    signingAlgorithm: ALGORITHMS[issuer ? issuer.kind : kind],
    publicKey: keys.publicKey,
    signingKey: (issuer ?? { keys }).keys.privateKey,
    extensions: [new x509.BasicConstraintsExtension(ca, ca ? 0 : undefined, true)],
  })
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  return {
    pem: cert.toString('pem'),
    pkcs8: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    traditional: key.export({ type: kind === 'rsa' ? 'pkcs1' : 'sec1', format: 'pem' }).toString(),
    subject,
    issuer: issuer ? issuer.subject : subject,
    kind,
    signature: GO_SIGNATURE[issuer ? issuer.kind : kind],
    cert,
    keys,
  }
}

/** `<dir>/<name>.pem` and `<dir>/<name>.key` (PKCS#8 unless `key` says otherwise), for wrangler. */
export function writePair(
  dir: string,
  name: string,
  made: Made,
  key: string = made.pkcs8,
): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true })
  const files = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) }
  writeFileSync(files.cert, made.pem)
  writeFileSync(files.key, key)
  return files
}

/** A PEM that looks like a certificate and is not one. */
export const INVALID_PEM =
  '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n'
