/**
 * Shared test helpers: calling the emulator (API and control), and making certificates with
 * @peculiar/x509 + WebCrypto so tests never depend on more committed fixtures than the example CA.
 */
import { exports } from 'cloudflare:workers'
import {
  BasicConstraintsExtension,
  X509Certificate,
  X509CertificateGenerator,
  type X509CertificateCreateParams,
} from '@peculiar/x509'

export const TOKEN = 'emulator-upstream-token'
export const SECRET = 'emulator-control-secret'
export const ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'
export const BASE = `https://api.cloudflare.com/client/v4/accounts/${ACCOUNT}/mtls_certificates`

export type Envelope<T = unknown> = {
  success: boolean
  errors: { code: number; message: string; source?: { pointer: string } }[]
  messages: unknown[]
  result: T
  result_info?: Record<string, number>
}

export type Certificate = Record<string, unknown> & { id: string }

type FetchLike = { fetch(input: string, init?: RequestInit): Promise<Response> }
const source: FetchLike = exports.default

export function call(
  path: string,
  init: RequestInit & { json?: unknown } = {},
  target: FetchLike = source,
): Promise<Response> {
  const headers = new Headers(init.headers)
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${TOKEN}`)
  let body = init.body
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json')
    body = JSON.stringify(init.json)
  }
  const url = path.startsWith('http') ? path : `${BASE}${path}`
  return target.fetch(url, { ...init, headers, body })
}

export async function callJson<T = unknown>(
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: Envelope<T> }> {
  const res = await call(path, init)
  return { status: res.status, headers: res.headers, body: (await res.json()) as Envelope<T> }
}

export async function control(
  method: string,
  path: string,
  json?: unknown,
  target: FetchLike = source,
): Promise<Response> {
  return target.fetch(`https://emulator.test/__emulator${path}`, {
    method,
    headers: { 'x-emulator-secret': SECRET, 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  })
}

export async function resetEmulator(target: FetchLike = source): Promise<void> {
  const res = await control('POST', '/reset', undefined, target)
  if (res.status !== 200) throw new Error(`reset failed: ${res.status}`)
}

export async function upload(json: Record<string, unknown>) {
  return callJson<Certificate>('', { method: 'POST', json })
}

const RSA: SubtleCryptoGenerateKeyAlgorithm = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
}
const EC: SubtleCryptoGenerateKeyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' }

export type SigningAlgorithm = X509CertificateCreateParams['signingAlgorithm']

export type MadeCertificate = { pem: string; cert: X509Certificate; keys: CryptoKeyPair }

export type KeyKind = 'rsa' | 'rsa-pss' | 'ec'

export async function makeKeys(kind: KeyKind = 'ec'): Promise<CryptoKeyPair> {
  const algorithm = kind === 'ec' ? EC : kind === 'rsa' ? RSA : { ...RSA, name: 'RSA-PSS' }
  return (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair
}

/**
 * A certificate signed by `issuer` (self-signed without one). `ca` adds basicConstraints CA:TRUE.
 */
export async function makeCertificate(
  options: {
    subject?: string
    ca?: boolean
    kind?: KeyKind
    issuer?: MadeCertificate
    serialNumber?: string
    notAfter?: Date
    signingAlgorithm?: SigningAlgorithm
  } = {},
): Promise<MadeCertificate> {
  const keys = await makeKeys(options.kind ?? 'ec')
  const subject = options.subject ?? 'CN=Test Certificate'
  const signer = options.issuer?.keys ?? keys
  const signingAlgorithm =
    options.signingAlgorithm ??
    (signer.privateKey.algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : {})
  const cert = await X509CertificateGenerator.create({
    serialNumber: options.serialNumber ?? '01',
    subject,
    issuer: options.issuer?.cert.subject ?? subject,
    notBefore: new Date('2024-01-01T00:00:00Z'),
    notAfter: options.notAfter ?? new Date('2034-01-01T00:00:00Z'),
    publicKey: keys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm,
    extensions: options.ca ? [new BasicConstraintsExtension(true, undefined, true)] : [],
  })
  return { pem: cert.toString('pem'), cert, keys }
}
