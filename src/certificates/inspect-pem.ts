/**
 * Checks what a caller uploads before anything is forwarded: the `certificates` PEM and the
 * optional `private_key`. DER parsing is @peculiar/x509's; key matching is WebCrypto's.
 *
 * Each kind of failure has its own error kind so a caller can tell "not a certificate" from "not a
 * CA" from "wrong key". Messages never quote the submitted key material.
 */
// tsyringe, which @peculiar/x509 uses, needs the Reflect metadata API before x509 loads.
import '@abraham/reflection'
import { BasicConstraintsExtension, PemConverter, X509Certificate } from '@peculiar/x509'
import { hex } from '../lib/encoding'
import type { ErrorKind } from '../lib/errors'

export interface InspectedCertificate {
  /** SHA-256 of the first certificate's DER, lowercase hex: the stable identity of an upload. */
  fingerprintSha256: string
  /**
   * SHA-256 over the DER of every certificate, in order: what the upstream treats as "the same
   * upload" (1471), independent of PEM line breaks. Ownership intents are matched on it.
   */
  bundleSha256: string
  /** The first certificate's serial number in base 10, as the upstream reports it. */
  serialNumber: string
  /** notAfter of the first certificate, RFC 3339 in whole seconds (as the upstream's expires_on). */
  expiresOn: string
  count: number
}

export type Inspection<T> = { ok: true; value: T } | { ok: false; kind: ErrorKind; message: string }

// A complete PEM block; used only to find text that lies outside every block.
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g

function decodeBlocks(pem: string): { type: string; rawData: ArrayBuffer }[] | undefined {
  if (pem.replace(PEM_BLOCK, '').trim() !== '') return undefined
  try {
    return PemConverter.decodeWithHeaders(pem)
  } catch {
    return undefined
  }
}

export async function inspectCertificates(
  pem: string,
  ca: boolean,
): Promise<Inspection<{ info: InspectedCertificate; first: X509Certificate }>> {
  const blocks = decodeBlocks(pem)
  if (blocks === undefined || blocks.length === 0) {
    return {
      ok: false,
      kind: 'CERTIFICATE_UNPARSABLE',
      message: 'certificates is not a PEM document of certificates',
    }
  }
  const foreign = blocks.find((block) => block.type !== 'CERTIFICATE')
  if (foreign !== undefined) {
    return {
      ok: false,
      kind: 'CERTIFICATE_FOREIGN_BLOCK',
      message: `certificates must hold only CERTIFICATE blocks, found a ${foreign.type} block (send a private key in private_key)`,
    }
  }
  const parsed: X509Certificate[] = []
  for (const [index, block] of blocks.entries()) {
    try {
      parsed.push(new X509Certificate(block.rawData))
    } catch {
      return {
        ok: false,
        kind: 'CERTIFICATE_UNPARSABLE',
        message: `certificate ${index + 1} of ${blocks.length} is not a well-formed X.509 certificate`,
      }
    }
  }
  const first = parsed[0] as X509Certificate
  if (ca && first.getExtension(BasicConstraintsExtension)?.ca !== true) {
    return {
      ok: false,
      kind: 'CERTIFICATE_NOT_CA',
      message: 'ca is true but the first certificate is not a CA (basicConstraints CA:TRUE)',
    }
  }
  const fingerprint = await crypto.subtle.digest('SHA-256', first.rawData)
  const ders = parsed.map((cert) => new Uint8Array(cert.rawData))
  const bundle = new Uint8Array(ders.reduce((length, der) => length + der.length, 0))
  ders.reduce((offset, der) => (bundle.set(der, offset), offset + der.length), 0)
  const bundleDigest = await crypto.subtle.digest('SHA-256', bundle)
  return {
    ok: true,
    value: {
      first,
      info: {
        fingerprintSha256: hex(new Uint8Array(fingerprint)),
        bundleSha256: hex(new Uint8Array(bundleDigest)),
        serialNumber: BigInt('0x' + first.serialNumber).toString(10),
        expiresOn: first.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        count: parsed.length,
      },
    },
  }
}

// Algorithms a PKCS#8 key is tried under, to tell "not a key" from "a key, but not this one".
const KEY_ALGORITHMS: SubtleCryptoImportKeyAlgorithm[] = [
  { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  { name: 'ECDSA', namedCurve: 'P-256' },
  { name: 'ECDSA', namedCurve: 'P-384' },
  { name: 'ECDSA', namedCurve: 'P-521' },
  { name: 'Ed25519' },
]

// The JWK members that make up the public half of a key, per key type.
const PUBLIC_MEMBERS: Record<string, (keyof JsonWebKey)[]> = {
  RSA: ['n', 'e'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
}

async function importPkcs8(der: ArrayBuffer, algorithm: SubtleCryptoImportKeyAlgorithm) {
  try {
    return await crypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign'])
  } catch {
    return undefined
  }
}

export async function inspectPrivateKey(
  pem: string,
  certificate: X509Certificate,
): Promise<Inspection<null>> {
  const blocks = decodeBlocks(pem)
  const unparsable = (message: string): Inspection<null> => ({
    ok: false,
    kind: 'PRIVATE_KEY_UNPARSABLE',
    message,
  })
  if (blocks === undefined || blocks.length !== 1) {
    return unparsable('private_key must be exactly one PEM block')
  }
  const block = blocks[0] as { type: string; rawData: ArrayBuffer }
  if (block.type !== 'PRIVATE KEY') {
    return unparsable(
      `private_key is a ${block.type} block; send an unencrypted PKCS#8 "PRIVATE KEY" (openssl pkcs8 -topk8 -nocrypt)`,
    )
  }

  const publicKey = await certificate.publicKey.export().catch(() => undefined)
  const privateKey = publicKey ? await importPkcs8(block.rawData, publicKey.algorithm) : undefined
  if (publicKey === undefined || privateKey === undefined) {
    for (const algorithm of KEY_ALGORITHMS) {
      if (await importPkcs8(block.rawData, algorithm)) {
        return {
          ok: false,
          kind: 'PRIVATE_KEY_MISMATCH',
          message: "private_key is a different kind of key than the first certificate's",
        }
      }
    }
    return unparsable('private_key is not a readable PKCS#8 private key')
  }

  const [publicJwk, privateJwk] = await Promise.all([
    crypto.subtle.exportKey('jwk', publicKey) as Promise<JsonWebKey>,
    crypto.subtle.exportKey('jwk', privateKey) as Promise<JsonWebKey>,
  ])
  const members = PUBLIC_MEMBERS[publicJwk.kty ?? ''] ?? []
  const same = members.length > 0 && members.every((m) => publicJwk[m] === privateJwk[m])
  return same
    ? { ok: true, value: null }
    : {
        ok: false,
        kind: 'PRIVATE_KEY_MISMATCH',
        message: "private_key does not match the first certificate's public key",
      }
}
