/**
 * Owns: reading just enough DER to see what @peculiar/x509 does not expose in the form Go uses: the
 * issuer's attributes with their OIDs and raw values, and the signature algorithm's OID and
 * parameters.
 *
 * Why not the library: its `Name` maps OIDs to its own short names (E, DC, ...) and its
 * `signatureAlgorithm` is a WebCrypto object; Go's names need the OIDs themselves. Throws
 * `DerError` on anything malformed; callers turn that into "unable to parse certificate".
 */

export class DerError extends Error {}

export type DerNode = {
  tag: number
  /** The whole TLV. */
  raw: Uint8Array
  /** The contents only. */
  value: Uint8Array
}

export const TAG = {
  integer: 0x02,
  oid: 0x06,
  sequence: 0x30,
  set: 0x31,
} as const

export function readNode(bytes: Uint8Array, offset = 0): DerNode {
  const tag = bytes[offset]
  const lengthByte = bytes[offset + 1]
  if (tag === undefined || lengthByte === undefined) throw new DerError('truncated')
  // High tag numbers never occur in the structures read here.
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag number')
  let length = lengthByte
  let headerLength = 2
  if (lengthByte & 0x80) {
    // Long form: the low bits count the length octets that follow (indefinite length is not DER).
    const count = lengthByte & 0x7f
    if (count === 0 || count > 4) throw new DerError('unsupported length')
    length = 0
    for (let i = 0; i < count; i++) {
      const octet = bytes[offset + 2 + i]
      if (octet === undefined) throw new DerError('truncated')
      length = length * 256 + octet
    }
    headerLength += count
  }
  const end = offset + headerLength + length
  if (end > bytes.length) throw new DerError('truncated')
  return {
    tag,
    raw: bytes.subarray(offset, end),
    value: bytes.subarray(offset + headerLength, end),
  }
}

export function childrenOf(node: DerNode): DerNode[] {
  const children: DerNode[] = []
  for (let offset = 0; offset < node.value.length;) {
    const child = readNode(node.value, offset)
    children.push(child)
    offset += child.raw.length
  }
  return children
}

export function expectTag(node: DerNode | undefined, tag: number): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`expected tag ${tag}`)
  return node
}

export function decodeOid(node: DerNode): string {
  const bytes = expectTag(node, TAG.oid).value
  const arcs: number[] = []
  let arc = 0
  for (const byte of bytes) {
    arc = arc * 128 + (byte & 0x7f)
    if (byte & 0x80) continue
    if (arcs.length === 0) {
      const top = arc < 80 ? Math.floor(arc / 40) : 2
      arcs.push(top, arc - top * 40)
    } else {
      arcs.push(arc)
    }
    arc = 0
  }
  return arcs.join('.')
}

/** Decodes the ASN.1 string types Go accepts in names; `null` for anything else. */
export function decodeString(node: DerNode): string | null {
  switch (node.tag) {
    case 0x0c: // UTF8String
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(node.value)
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: // T61String, read as Latin-1 like most decoders
      return String.fromCharCode(...node.value)
    case 0x1e: {
      // BMPString: UTF-16 big-endian
      const units: number[] = []
      for (let i = 0; i + 1 < node.value.length; i += 2) {
        units.push(((node.value[i] ?? 0) << 8) | (node.value[i + 1] ?? 0))
      }
      return String.fromCharCode(...units)
    }
    default:
      return null
  }
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
