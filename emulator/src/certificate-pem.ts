/**
 * Owns: turning the `certificates` PEM of an upload into parsed certificates and the fields the
 * upstream computes from the FIRST one (contract §1 "Certificate object", §4 "issuer", fixtures):
 * `issuer` (Go order), `serial_number` (base 10), `signature` (Go name), `expires_on` (notAfter,
 * whole seconds), plus a fingerprint of all certificate bytes for duplicate detection.
 *
 * PEM rules: the text is read as Go's `pem.Decode` reads it (`pem.ts`: text outside blocks and
 * header lines are skipped), and every block must be a CERTIFICATE whose data @peculiar/x509 can
 * parse. No block, any other block (key, CSR, public key) or bad contents: the upload is "unable to
 * parse certificate".
 */

import { AsnConvert } from '@peculiar/asn1-schema'
import { Certificate } from '@peculiar/asn1-x509'
import { BasicConstraintsExtension, X509Certificate } from '@peculiar/x509'

import { goNameString, goSignatureName } from './go-names'
import { readPemBlocks } from './pem'
import { toWholeSeconds } from './timestamps'

export class UnparsableCertificate extends Error {
  constructor(cause?: unknown) {
    super('unable to parse certificate', { cause })
    this.name = 'UnparsableCertificate'
  }
}

export type ComputedFields = {
  issuer: string
  serial_number: string
  signature: string
  expires_on: string
}

export type ParsedUpload = {
  computed: ComputedFields
  /** basicConstraints CA:TRUE on the first certificate. */
  firstIsCa: boolean
  /** Identifies the exact certificate bytes (all blocks, whitespace-insensitive). */
  fingerprint: string
}

function splitPemCertificates(pem: string): Uint8Array[] {
  const blocks = readPemBlocks(pem)
  if (!blocks || blocks.length === 0) throw new UnparsableCertificate()
  return blocks.map((block) => {
    if (block.type !== 'CERTIFICATE') throw new UnparsableCertificate()
    return block.der
  })
}

/** Go's `big.Int.String()` of the serial's two's-complement bytes. */
function serialToDecimal(bytes: Uint8Array): string {
  let value = 0n
  for (const byte of bytes) value = (value << 8n) | BigInt(byte)
  if (bytes.length > 0 && (bytes[0] ?? 0) & 0x80) value -= 1n << BigInt(bytes.length * 8)
  return value.toString(10)
}

function computeFields(der: Uint8Array, certificate: X509Certificate): ComputedFields {
  // @peculiar/x509 keeps its ASN.1 to itself, so read the certificate again with its schema.
  const { tbsCertificate, signatureAlgorithm } = AsnConvert.parse(der, Certificate)
  return {
    issuer: goNameString(tbsCertificate.issuer),
    serial_number: serialToDecimal(new Uint8Array(tbsCertificate.serialNumber)),
    signature: goSignatureName(signatureAlgorithm),
    expires_on: toWholeSeconds(certificate.notAfter),
  }
}

async function fingerprintOf(ders: Uint8Array[]): Promise<string> {
  const joined = new Uint8Array(ders.reduce((n, d) => n + d.length + 4, 0))
  let offset = 0
  for (const der of ders) {
    // Length-prefix each certificate so different splits of the same bytes never collide.
    new DataView(joined.buffer).setUint32(offset, der.length)
    joined.set(der, offset + 4)
    offset += der.length + 4
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', joined))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Parses an upload's PEM; throws `UnparsableCertificate` for anything that is not clean PEM. */
export async function parseCertificates(pem: string): Promise<ParsedUpload> {
  try {
    const ders = splitPemCertificates(pem)
    const certificates = ders.map((der) => new X509Certificate(der))
    const first = certificates[0]
    const firstDer = ders[0]
    if (!first || !firstDer) throw new UnparsableCertificate()
    const constraints = first.getExtension(BasicConstraintsExtension)
    return {
      computed: computeFields(firstDer, first),
      firstIsCa: constraints?.ca === true,
      fingerprint: await fingerprintOf(ders),
    }
  } catch (err) {
    if (err instanceof UnparsableCertificate) throw err
    throw new UnparsableCertificate(err)
  }
}
