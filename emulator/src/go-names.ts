/**
 * Owns: rendering a certificate's issuer and signature algorithm exactly as Go's crypto/x509 does,
 * because the upstream's `issuer` and `signature` fields are Go's `pkix.Name.String()` and
 * `x509.SignatureAlgorithm.String()` (contract §4).
 *
 * Mirrors Go 1.2x: `Name.FillFromRDNSequence`, `Name.String`, `Name.ToRDNSequence`,
 * `RDNSequence.String` (escaping, `+` for multi-valued attributes, `OID=#hex` for attributes Go has
 * no name for) and `getSignatureAlgorithmFromAI` (including the RSA-PSS parameter checks).
 *
 * Input is the ASN.1 of @peculiar/asn1-x509 (`Certificate.tbsCertificate.issuer`,
 * `Certificate.signatureAlgorithm`), not @peculiar/x509's own objects: its `Name` maps OIDs to its
 * own short names (E, DC, ...) and its `signatureAlgorithm` is a WebCrypto object, while Go's names
 * need the OIDs themselves.
 */

import { AsnConvert, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema'
import { AlgorithmIdentifier, AttributeValue, type Name } from '@peculiar/asn1-x509'

/** `value` is null for an ASN.1 type Go does not read as a string; `der` is then printed as hex. */
type Attribute = { oid: string; value: string | null; der: AttributeValue }

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

/**
 * NumericString (Go reads it) and VisibleString (Go refuses it; read here all the same), which
 * `AttributeValue` leaves as `anyValue`. The asn1-schema decorators are applied by hand: this project
 * compiles with standard decorators, and these are legacy (`experimentalDecorators`) ones.
 */
class OtherString {
  numericString?: string
  visibleString?: string
}
AsnProp({ type: AsnPropTypes.NumericString })(OtherString.prototype, 'numericString')
AsnProp({ type: AsnPropTypes.VisibleString })(OtherString.prototype, 'visibleString')
AsnType({ type: AsnTypeTypes.Choice })(OtherString)

/** The value as a string if it is one of the string types above (T61String read as Latin-1). */
function stringOf(value: AttributeValue): string | null {
  const text =
    value.utf8String ??
    value.printableString ??
    value.ia5String ??
    value.teletexString ??
    value.bmpString
  if (text !== undefined) return text
  // UniversalString, NULL and any non-string type: printed as `OID=#hex`, or dropped if standard.
  if (!value.anyValue) return null
  try {
    const other = AsnConvert.parse(value.anyValue, OtherString)
    return other.numericString ?? other.visibleString ?? null
  } catch {
    return null
  }
}

function readName(name: Name): Attribute[] {
  return name.flatMap((rdn) =>
    rdn.map((atv) => ({ oid: atv.type, value: stringOf(atv.value), der: atv.value })),
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

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** `asn1.Marshal(string)` as Go does it: PrintableString when possible, else UTF8String. */
function goMarshalString(value: string): AttributeValue {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)
  return new AttributeValue(printable ? { printableString: value } : { utf8String: value })
}

/** Go's `pkix.Name.String()` for an issuer or subject. */
export function goNameString(name: Name): string {
  const attributes = readName(name)
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
          // Go re-marshals the strings it read; anything else keeps its own encoding.
          const der = a.value !== null ? goMarshalString(a.value) : a.der
          return `${a.oid}=#${toHex(new Uint8Array(AsnConvert.serialize(der)))}`
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

/** RSASSA-PSS-params (RFC 4055); every field optional here, so that a missing one is checked below. */
class PssParameters {
  hashAlgorithm?: AlgorithmIdentifier
  maskGenAlgorithm?: AlgorithmIdentifier
  saltLength?: number | string
  trailerField?: number | string
}
AsnProp({ type: AlgorithmIdentifier, context: 0, optional: true })(
  PssParameters.prototype,
  'hashAlgorithm',
)
AsnProp({ type: AlgorithmIdentifier, context: 1, optional: true })(
  PssParameters.prototype,
  'maskGenAlgorithm',
)
AsnProp({ type: AsnPropTypes.Integer, context: 2, optional: true })(
  PssParameters.prototype,
  'saltLength',
)
AsnProp({ type: AsnPropTypes.Integer, context: 3, optional: true })(
  PssParameters.prototype,
  'trailerField',
)
AsnType({ type: AsnTypeTypes.Sequence })(PssParameters)

function pssName(parameters: ArrayBuffer | null | undefined): string {
  if (!parameters) return UNKNOWN
  let params: PssParameters
  let mgfHash: AlgorithmIdentifier
  try {
    params = AsnConvert.parse(parameters, PssParameters)
    const mgfParameters = params.maskGenAlgorithm?.parameters
    if (!mgfParameters) return UNKNOWN
    mgfHash = AsnConvert.parse(mgfParameters, AlgorithmIdentifier)
  } catch {
    // Go: parameters it cannot unmarshal make the algorithm unknown.
    return UNKNOWN
  }
  const { hashAlgorithm: hash, maskGenAlgorithm: mgf, saltLength, trailerField } = params
  if (!hash || !mgf || saltLength === undefined) return UNKNOWN
  const known = PSS_HASHES.get(hash.algorithm)
  if (
    !known ||
    mgf.algorithm !== MGF1 ||
    mgfHash.algorithm !== hash.algorithm ||
    Number(saltLength) !== known[1] ||
    (trailerField !== undefined && Number(trailerField) !== 1)
  ) {
    return UNKNOWN
  }
  return known[0]
}

/** Go's `SignatureAlgorithm.String()` for a certificate's signatureAlgorithm. */
export function goSignatureName(algorithm: AlgorithmIdentifier): string {
  if (algorithm.algorithm === RSA_PSS) return pssName(algorithm.parameters)
  return SIMPLE_ALGORITHMS.get(algorithm.algorithm) ?? UNKNOWN
}
