/**
 * Checks what a caller uploads before anything is forwarded: the `certificates` PEM and the
 * optional `private_key`. PEM reading is `pem.ts`'s, DER parsing the ASN.1 schemas of
 * @peculiar/asn1-x509 (the X.509 structures alone, without @peculiar/x509's object layer and the
 * dependency-injection container it needs: about 96 KiB of the bundle), key matching WebCrypto's.
 *
 * Each kind of failure has its own error kind so a caller can tell "not a certificate" from "not a
 * CA" from "wrong key" from "encrypted". Messages never quote the submitted key material.
 *
 * Keys come in the three unencrypted forms the upstream takes: PKCS#8 (`PRIVATE KEY`, the spec's
 * example), PKCS#1 (`RSA PRIVATE KEY`, what wrangler's own end-to-end tests upload to the real API)
 * and SEC1 (`EC PRIVATE KEY`, what `openssl ecparam -genkey` writes) on P-256, P-384 or P-521.
 * WebCrypto imports only PKCS#8, so the other two are wrapped into PKCS#8 first, byte for byte as
 * `openssl pkcs8 -topk8 -nocrypt` would. Encrypted blocks are refused, never decrypted: the upload
 * has no passphrase field, so the upstream could not read them either.
 */
import {
  ECParameters,
  ECPrivateKey,
  id_ecPublicKey,
  id_secp256r1,
  id_secp384r1,
  id_secp521r1,
} from '@peculiar/asn1-ecc'
import { PrivateKeyInfo } from '@peculiar/asn1-pkcs8'
import { RSAPrivateKey, id_RSASSA_PSS, id_rsaEncryption } from '@peculiar/asn1-rsa'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  BasicConstraints,
  Certificate,
  SubjectPublicKeyInfo,
  id_ce_basicConstraints,
} from '@peculiar/asn1-x509'
import { hex } from './encoding'
import type { ErrorKind } from './errors'
import { decodePem, type PemBlock, type PemHeader } from './pem'

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

/** A certificate as read from its DER: what `inspectPrivateKey` matches a key against. */
export interface ParsedCertificate {
  der: ArrayBuffer
  asn: Certificate
}

export type Inspection<T> = { ok: true; value: T } | { ok: false; kind: ErrorKind; message: string }

const isHeader = (header: PemHeader, key: string) =>
  header.key.trim().toLowerCase() === key.toLowerCase()

/**
 * A block that cannot be read as sent: encrypted (PKCS#8 `ENCRYPTED PRIVATE KEY`, or OpenSSL's
 * legacy `Proc-Type: 4,ENCRYPTED` + `DEK-Info` headers), or carrying any other RFC 1421 header.
 * Checked before the block's type so that an encrypted key gets this answer wherever it was sent.
 */
function sealedBlock(blocks: PemBlock[], field: string): Inspection<never> | undefined {
  for (const block of blocks) {
    const legacy = block.headers.some(
      (h) => (isHeader(h, 'Proc-Type') && /ENCRYPTED/i.test(h.value)) || isHeader(h, 'DEK-Info'),
    )
    if (legacy || block.type === 'ENCRYPTED PRIVATE KEY') {
      const how = legacy ? 'legacy OpenSSL encryption (Proc-Type, DEK-Info)' : 'encrypted PKCS#8'
      return {
        ok: false,
        kind: 'PEM_ENCRYPTED',
        message: `${field} holds an encrypted ${block.type} block (${how}); the upload has no passphrase, so send the key decrypted (openssl pkcs8 -topk8 -nocrypt)`,
      }
    }
  }
  const withHeaders = blocks.find((block) => block.headers.length > 0)
  if (withHeaders === undefined) return undefined
  return {
    ok: false,
    kind: 'PEM_HEADERS',
    message: `${field} has a ${withHeaders.type} block with header lines; send plain PEM, the base64 alone between BEGIN and END`,
  }
}

/** The certificate's facts the upstream reports, or undefined where the DER lacks one. */
function describe(asn: Certificate): { serialNumber: string; expiresOn: Date } | undefined {
  const serial = new Uint8Array(asn.tbsCertificate.serialNumber)
  const notAfter = asn.tbsCertificate.validity.notAfter
  const expiresOn = notAfter.utcTime ?? notAfter.generalTime
  if (serial.length === 0 || expiresOn === undefined) return undefined
  // The bytes read as unsigned, as the upstream (and @peculiar/x509 before) reports a serial.
  return { serialNumber: BigInt('0x' + hex(serial)).toString(10), expiresOn }
}

/** basicConstraints CA:TRUE; false without the extension or when it cannot be read. */
function isCa(asn: Certificate): boolean {
  const extension = asn.tbsCertificate.extensions?.find(
    (ext) => ext.extnID === id_ce_basicConstraints,
  )
  if (extension === undefined) return false
  try {
    return AsnConvert.parse(extension.extnValue.buffer, BasicConstraints).cA === true
  } catch {
    return false
  }
}

/** SHA-256 over the DERs, in order, lowercase hex: `bundleSha256`. */
async function bundleDigest(ders: ArrayBuffer[]): Promise<string> {
  const bundle = new Uint8Array(ders.reduce((length, der) => length + der.byteLength, 0))
  ders.reduce(
    (offset, der) => (bundle.set(new Uint8Array(der), offset), offset + der.byteLength),
    0,
  )
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bundle)))
}

/**
 * What `inspectCertificates(pem).info.bundleSha256` would be if it succeeded, without reading
 * the certificates (no ASN.1): undefined when the text is not PEM of CERTIFICATE blocks. A cheap
 * first test: where this finds no match, a full inspection cannot either (the same blocks, the
 * same bytes, the same hash), so only a match needs `inspectCertificates` to confirm it.
 */
export async function bundleSha256Of(pem: string): Promise<string | undefined> {
  const blocks = decodePem(pem)
  if (blocks === undefined || blocks.length === 0) return undefined
  if (blocks.some((block) => block.type !== 'CERTIFICATE')) return undefined
  return bundleDigest(blocks.map((block) => block.der))
}

export async function inspectCertificates(
  pem: string,
  ca: boolean,
): Promise<Inspection<{ info: InspectedCertificate; first: ParsedCertificate }>> {
  const blocks = decodePem(pem)
  if (blocks === undefined || blocks.length === 0) {
    return {
      ok: false,
      kind: 'CERTIFICATE_UNPARSABLE',
      message: 'certificates is not a PEM document of certificates',
    }
  }
  const sealed = sealedBlock(blocks, 'certificates')
  if (sealed !== undefined) return sealed
  const foreign = blocks.find((block) => block.type !== 'CERTIFICATE')
  if (foreign !== undefined) {
    return {
      ok: false,
      kind: 'CERTIFICATE_FOREIGN_BLOCK',
      message: `certificates must hold only CERTIFICATE blocks, found a ${foreign.type} block (send a private key in private_key)`,
    }
  }
  const parsed: ParsedCertificate[] = []
  for (const [index, block] of blocks.entries()) {
    try {
      parsed.push({ der: block.der, asn: AsnConvert.parse(block.der, Certificate) })
    } catch {
      return {
        ok: false,
        kind: 'CERTIFICATE_UNPARSABLE',
        message: `certificate ${index + 1} of ${blocks.length} is not a well-formed X.509 certificate`,
      }
    }
  }
  const first = parsed[0] as ParsedCertificate
  const facts = describe(first.asn)
  if (facts === undefined) {
    return {
      ok: false,
      kind: 'CERTIFICATE_UNPARSABLE',
      message: `certificate 1 of ${blocks.length} is not a well-formed X.509 certificate`,
    }
  }
  if (ca && !isCa(first.asn)) {
    return {
      ok: false,
      kind: 'CERTIFICATE_NOT_CA',
      message: 'ca is true but the first certificate is not a CA (basicConstraints CA:TRUE)',
    }
  }
  const fingerprint = await crypto.subtle.digest('SHA-256', first.der)
  return {
    ok: true,
    value: {
      first,
      info: {
        fingerprintSha256: hex(new Uint8Array(fingerprint)),
        bundleSha256: await bundleDigest(parsed.map((cert) => cert.der)),
        serialNumber: facts.serialNumber,
        expiresOn: facts.expiresOn.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        count: parsed.length,
      },
    },
  }
}

// The curves a SEC1 key may name: the three WebCrypto has, which are also those Go's crypto/x509
// reads (the upstream names fields as Go does) apart from P-224, which Cloudflare's minimum ECDSA
// key size for uploaded certificates (225 bits) leaves out.
const SEC1_CURVES = new Set([id_secp256r1, id_secp384r1, id_secp521r1])

const KEY_FORMATS: Record<string, string> = {
  'PRIVATE KEY': 'PKCS#8',
  'RSA PRIVATE KEY': 'PKCS#1 RSA',
  'EC PRIVATE KEY': 'SEC1 EC',
}

function privateKeyInfo(algorithm: string, parameters: ArrayBuffer | null, key: ArrayBuffer) {
  return AsnConvert.serialize(
    new PrivateKeyInfo({
      privateKeyAlgorithm: new AlgorithmIdentifier({ algorithm, parameters }),
      privateKey: new OctetString(key),
    }),
  )
}

/**
 * The key of a `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block as PKCS#8 DER, the only
 * form WebCrypto imports. Exported for its unit test, which compares it with openssl's output.
 */
export function toPkcs8(type: string, der: ArrayBuffer): Inspection<ArrayBuffer> {
  const unparsable = (message: string): Inspection<ArrayBuffer> => ({
    ok: false,
    kind: 'PRIVATE_KEY_UNPARSABLE',
    message,
  })
  if (type === 'PRIVATE KEY') return { ok: true, value: der }
  if (type === 'RSA PRIVATE KEY') {
    try {
      AsnConvert.parse(der, RSAPrivateKey)
    } catch {
      return unparsable('private_key is an RSA PRIVATE KEY block but not a PKCS#1 RSA private key')
    }
    return { ok: true, value: privateKeyInfo(id_rsaEncryption, null, der) }
  }
  if (type === 'EC PRIVATE KEY') {
    let key: ECPrivateKey
    try {
      key = AsnConvert.parse(der, ECPrivateKey)
    } catch {
      return unparsable('private_key is an EC PRIVATE KEY block but not a SEC1 EC private key')
    }
    const curve = key.parameters?.namedCurve
    if (curve === undefined || !SEC1_CURVES.has(curve)) {
      return unparsable('private_key is an EC key that does not name P-256, P-384 or P-521')
    }
    // In PKCS#8 the algorithm names the curve, so the inner key drops it (RFC 5915 section 3).
    const { version, privateKey, publicKey } = key
    const inner = new ECPrivateKey({ version, privateKey, publicKey })
    const parameters = AsnConvert.serialize(new ECParameters({ namedCurve: curve }))
    return {
      ok: true,
      value: privateKeyInfo(id_ecPublicKey, parameters, AsnConvert.serialize(inner)),
    }
  }
  return unparsable(
    `private_key is a ${type} block; send an unencrypted PRIVATE KEY (PKCS#8), RSA PRIVATE KEY (PKCS#1) or EC PRIVATE KEY (SEC1)`,
  )
}

// Algorithms a key is tried under, to tell "not a key" from "a key, but not this one".
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

// The curves WebCrypto imports a certificate's EC public key on.
const NAMED_CURVES: Record<string, string> = {
  [id_secp256r1]: 'P-256',
  [id_secp384r1]: 'P-384',
  [id_secp521r1]: 'P-521',
}
const id_Ed25519 = '1.3.101.112'

/**
 * The certificate's public key as WebCrypto's CryptoKey, or undefined when WebCrypto has no
 * signature algorithm for it (secp256k1, Ed448, X25519, an unknown OID): the key can then only be
 * "a different kind". The algorithm only has to let both halves import; they are compared as JWK.
 * An RSA-PSS key (id-RSASSA-PSS) is the same RSA key as rsaEncryption names it, which is how
 * WebCrypto and a PKCS#8 file carry it, so it is relabelled, as @peculiar/x509 did.
 */
async function certificatePublicKey(certificate: ParsedCertificate) {
  const spki = certificate.asn.tbsCertificate.subjectPublicKeyInfo
  const oid = spki.algorithm.algorithm
  let algorithm: SubtleCryptoImportKeyAlgorithm | undefined
  let der = spki
  if (oid === id_rsaEncryption || oid === id_RSASSA_PSS) {
    algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    der = new SubjectPublicKeyInfo({
      algorithm: new AlgorithmIdentifier({ algorithm: id_rsaEncryption, parameters: null }),
      subjectPublicKey: spki.subjectPublicKey,
    })
  } else if (oid === id_ecPublicKey && spki.algorithm.parameters) {
    try {
      const { namedCurve } = AsnConvert.parse(spki.algorithm.parameters, ECParameters)
      const curve = namedCurve === undefined ? undefined : NAMED_CURVES[namedCurve]
      if (curve !== undefined) algorithm = { name: 'ECDSA', namedCurve: curve }
    } catch {
      // Parameters that are not a named curve: WebCrypto could not take it either.
    }
  } else if (oid === id_Ed25519) {
    algorithm = { name: 'Ed25519' }
  }
  if (algorithm === undefined) return undefined
  try {
    const key = await crypto.subtle.importKey('spki', AsnConvert.serialize(der), algorithm, true, [
      'verify',
    ])
    return { key, algorithm }
  } catch {
    return undefined
  }
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
  certificate: ParsedCertificate,
): Promise<Inspection<null>> {
  const blocks = decodePem(pem)
  const unparsable = (message: string): Inspection<null> => ({
    ok: false,
    kind: 'PRIVATE_KEY_UNPARSABLE',
    message,
  })
  if (blocks === undefined || blocks.length === 0) {
    return unparsable('private_key must be exactly one PEM block')
  }
  const sealed = sealedBlock(blocks, 'private_key')
  if (sealed !== undefined) return sealed
  if (blocks.length !== 1) {
    // `openssl ecparam -genkey` writes this block before the key; Cloudflare's custom-certificate
    // upload guide, too, asks to remove it.
    return blocks.some((block) => block.type === 'EC PARAMETERS')
      ? unparsable('private_key must be the key block alone: remove the EC PARAMETERS block')
      : unparsable('private_key must be exactly one PEM block')
  }
  const block = blocks[0] as PemBlock
  const pkcs8 = toPkcs8(block.type, block.der)
  if (!pkcs8.ok) return pkcs8
  const der = pkcs8.value

  const publicKey = await certificatePublicKey(certificate)
  const privateKey = publicKey ? await importPkcs8(der, publicKey.algorithm) : undefined
  if (publicKey === undefined || privateKey === undefined) {
    for (const algorithm of KEY_ALGORITHMS) {
      if (await importPkcs8(der, algorithm)) {
        return {
          ok: false,
          kind: 'PRIVATE_KEY_MISMATCH',
          message: "private_key is a different kind of key than the first certificate's",
        }
      }
    }
    return unparsable(`private_key is not a readable ${KEY_FORMATS[block.type]} private key`)
  }

  const [publicJwk, privateJwk] = await Promise.all([
    crypto.subtle.exportKey('jwk', publicKey.key) as Promise<JsonWebKey>,
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
