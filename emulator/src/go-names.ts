/**
 * Owns: rendering a certificate's issuer and signature algorithm exactly as Go's crypto/x509 does,
 * because the upstream's `issuer` and `signature` fields are Go's `pkix.Name.String()` and
 * `x509.SignatureAlgorithm.String()` (contract §4).
 *
 * Mirrors Go 1.2x: `Name.FillFromRDNSequence`, `Name.String`, `Name.ToRDNSequence`,
 * `RDNSequence.String` (escaping, `+` for multi-valued attributes, `OID=#hex` for attributes Go has
 * no name for) and `getSignatureAlgorithmFromAI` (including the RSA-PSS parameter checks).
 */

import {
  childrenOf,
  decodeOid,
  decodeString,
  DerError,
  expectTag,
  readNode,
  TAG,
  toHex,
  type DerNode,
} from './der'

type Attribute = { oid: string; value: string | null; raw: DerNode }

// Go's standard attributes in the order `Name.ToRDNSequence` emits them; the string is reversed.
const STANDARD_ORDER = [
  ['2.5.4.6', 'C'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.7', 'L'],
  ['2.5.4.9', 'STREET'],
  ['2.5.4.17', 'POSTALCODE'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.3', 'CN'],
  ['2.5.4.5', 'SERIALNUMBER'],
] as const
const STANDARD_NAMES = new Map<string, string>(STANDARD_ORDER)
// Go keeps only the last CommonName and SerialNumber; the others are lists.
const SINGLE_VALUED = new Set(['2.5.4.3', '2.5.4.5'])

function readName(name: DerNode): Attribute[] {
  return childrenOf(expectTag(name, TAG.sequence)).flatMap((rdn) =>
    childrenOf(expectTag(rdn, TAG.set)).map((atv) => {
      const [type, value] = childrenOf(expectTag(atv, TAG.sequence))
      if (!value) throw new DerError('attribute without value')
      return { oid: decodeOid(expectTag(type, TAG.oid)), value: decodeString(value), raw: value }
    }),
  )
}

function escapeValue(value: string): string {
  let out = ''
  let index = 0
  // Go indexes by byte offset; only the first and last positions matter, so compare in UTF-8 bytes.
  const lastByte = new TextEncoder().encode(value).length - 1
  for (const char of value) {
    const escape =
      ',+"\\<>;'.includes(char) ||
      (char === ' ' && (index === 0 || index === lastByte)) ||
      (char === '#' && index === 0)
    out += escape ? `\\${char}` : char
    index += new TextEncoder().encode(char).length
  }
  return out
}

function derLength(length: number): number[] {
  if (length < 0x80) return [length]
  const bytes: number[] = []
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256)
  return [0x80 | bytes.length, ...bytes]
}

/** `asn1.Marshal(string)` as Go does it: PrintableString when possible, else UTF8String. */
function goMarshalString(value: string): Uint8Array {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)
  const body = new TextEncoder().encode(value)
  return Uint8Array.from([printable ? 0x13 : 0x0c, ...derLength(body.length), ...body])
}

/** Go's `pkix.Name.String()` for a DER-encoded Name. */
export function goNameString(nameDer: DerNode): string {
  const attributes = readName(nameDer)
  const nonStandard = attributes.filter((a) => !STANDARD_NAMES.has(a.oid))
  const sequence: Attribute[][] = nonStandard.map((a) => [a])
  for (const [oid] of STANDARD_ORDER) {
    let values = attributes.filter((a) => a.oid === oid && a.value !== null)
    if (SINGLE_VALUED.has(oid)) values = values.slice(-1)
    if (values.length > 0) sequence.push(values)
  }
  return sequence
    .reverse()
    .map((rdn) =>
      rdn
        .map((a) => {
          const name = STANDARD_NAMES.get(a.oid)
          if (name && a.value !== null) return `${name}=${escapeValue(a.value)}`
          const der = a.value !== null ? goMarshalString(a.value) : a.raw.raw
          return `${a.oid}=#${toHex(der)}`
        })
        .join('+'),
    )
    .join(',')
}

const SIMPLE_ALGORITHMS = new Map<string, string>([
  ['1.2.840.113549.1.1.2', 'MD2WithRSA'],
  ['1.2.840.113549.1.1.4', 'MD5WithRSA'],
  ['1.2.840.113549.1.1.5', 'SHA1WithRSA'],
  ['1.3.14.3.2.29', 'SHA1WithRSA'],
  ['1.2.840.113549.1.1.11', 'SHA256WithRSA'],
  ['1.2.840.113549.1.1.12', 'SHA384WithRSA'],
  ['1.2.840.113549.1.1.13', 'SHA512WithRSA'],
  ['1.2.840.10040.4.3', 'DSAWithSHA1'],
  ['2.16.840.1.101.3.4.3.2', 'DSAWithSHA256'],
  ['1.2.840.10045.4.1', 'ECDSAWithSHA1'],
  ['1.2.840.10045.4.3.2', 'ECDSAWithSHA256'],
  ['1.2.840.10045.4.3.3', 'ECDSAWithSHA384'],
  ['1.2.840.10045.4.3.4', 'ECDSAWithSHA512'],
  ['1.3.101.112', 'Ed25519'],
])
const RSA_PSS = '1.2.840.113549.1.1.10'
const MGF1 = '1.2.840.113549.1.1.8'
const PSS_HASHES = new Map<string, [name: string, saltLength: number]>([
  ['2.16.840.1.101.3.4.2.1', ['SHA256WithRSAPSS', 32]],
  ['2.16.840.1.101.3.4.2.2', ['SHA384WithRSAPSS', 48]],
  ['2.16.840.1.101.3.4.2.3', ['SHA512WithRSAPSS', 64]],
])
/** What Go's `SignatureAlgorithm.String()` prints for `UnknownSignatureAlgorithm`. */
const UNKNOWN = '0'

function integerValue(node: DerNode): number {
  return Array.from(expectTag(node, TAG.integer).value).reduce((n, b) => n * 256 + b, 0)
}

function pssName(params: DerNode | undefined): string {
  if (!params || params.tag !== TAG.sequence) return UNKNOWN
  const fields = new Map(childrenOf(params).map((f) => [f.tag, f]))
  const explicit = (tag: number) => {
    const field = fields.get(tag)
    return field ? readNode(field.value) : undefined
  }
  const hash = explicit(0xa0)
  const mgf = explicit(0xa1)
  const salt = explicit(0xa2)
  const trailer = explicit(0xa3)
  if (!hash || !mgf || !salt) return UNKNOWN
  const hashOid = decodeOid(expectTag(childrenOf(hash)[0], TAG.oid))
  const [mgfOid, mgfParams] = childrenOf(mgf)
  const mgfHash = mgfParams ? childrenOf(mgfParams)[0] : undefined
  const known = PSS_HASHES.get(hashOid)
  if (
    !known ||
    !mgfOid ||
    decodeOid(mgfOid) !== MGF1 ||
    !mgfHash ||
    decodeOid(mgfHash) !== hashOid ||
    integerValue(salt) !== known[1] ||
    (trailer !== undefined && integerValue(trailer) !== 1)
  ) {
    return UNKNOWN
  }
  return known[0]
}

/** Go's `SignatureAlgorithm.String()` for a DER AlgorithmIdentifier. */
export function goSignatureName(algorithmIdentifier: DerNode): string {
  const [oidNode, params] = childrenOf(expectTag(algorithmIdentifier, TAG.sequence))
  const oid = decodeOid(expectTag(oidNode, TAG.oid))
  if (oid === RSA_PSS) return pssName(params)
  return SIMPLE_ALGORITHMS.get(oid) ?? UNKNOWN
}
