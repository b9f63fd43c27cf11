/**
 * Go's `pkix.Name.String()` and signature names, checked on names built with @peculiar/x509 (unit
 * level) and through an upload (the issuer of a self-signed certificate).
 */
import { AsnConvert } from '@peculiar/asn1-schema'
import { AlgorithmIdentifier, Name as AsnName } from '@peculiar/asn1-x509'
import { Name } from '@peculiar/x509'
import { beforeEach, describe, expect, it } from 'vitest'

import { makeCertificate } from '../../test/kit/certificates'
import { goNameString, goSignatureName } from '../src/go-names'
import { resetEmulator, upload } from './helpers'

function goString(name: string | { [type: string]: string[] }[]): string {
  return goNameString(AsnConvert.parse(new Name(name).toArrayBuffer(), AsnName))
}

const tlv = (tag: number, body: number[]) => [tag, body.length, ...body]
const CN_OID = [0x55, 0x04, 0x03]
const UNNAMED_OID = [0x2a, 0x03, 0x04] // 1.2.3.4

/** A Name built by hand, one attribute per RDN, for value types @peculiar/x509 does not write. */
function goStringOfValues(...attributes: [oid: number[], tag: number, body: number[]][]): string {
  const rdns = attributes.flatMap(([oid, tag, body]) =>
    tlv(0x31, tlv(0x30, [...tlv(0x06, oid), ...tlv(tag, body)])),
  )
  return goNameString(AsnConvert.parse(Uint8Array.from(tlv(0x30, rdns)), AsnName))
}

/** A Name with one UTF8String CN, built by hand: @peculiar/x509 reads `#...` values as hex. */
function goStringOfCommonName(value: string): string {
  return goStringOfValues([CN_OID, 0x0c, [...new TextEncoder().encode(value)]])
}

beforeEach(() => resetEmulator())

describe('issuer in Go order', () => {
  it('matches the real API output quoted from the wrangler e2e tests', async () => {
    const ca = await makeCertificate({
      subject:
        'C=US, ST=California, L=San Francisco, O=Localhost, OU=SSL Department, CN=Localhost CA',
      ca: true,
    })
    const { body } = await upload({ ca: true, certificates: ca.pem })
    expect(body.result.issuer).toBe(
      'CN=Localhost CA,OU=SSL Department,O=Localhost,L=San Francisco,ST=California,C=US',
    )
    expect(goString('C=US, ST=California, O=Localhost Root CA, CN=Root CA')).toBe(
      'CN=Root CA,O=Localhost Root CA,ST=California,C=US',
    )
  })

  it('orders by attribute type, not by position in the certificate', () => {
    expect(goString('CN=x, O=y, C=US, L=z, ST=s, OU=u')).toBe('CN=x,OU=u,O=y,L=z,ST=s,C=US')
    // POSTALCODE, STREET, SERIALNUMBER by OID: @peculiar/x509 has no short names for them.
    expect(goString('2.5.4.17=1234, 2.5.4.9=Main St, 2.5.4.5=42, CN=n')).toBe(
      'SERIALNUMBER=42,CN=n,POSTALCODE=1234,STREET=Main St',
    )
  })

  it('joins repeated attributes with + and keeps only the last CN', () => {
    expect(goString('OU=a, OU=b, CN=first, CN=second')).toBe('CN=second,OU=a+OU=b')
  })

  it('escapes like Go', () => {
    expect(goString([{ O: ['Acme, Inc.'] }])).toBe('O=Acme\\, Inc.')
    expect(goString([{ CN: ['a+b;c<d>e"f'] }])).toBe('CN=a\\+b\\;c\\<d\\>e\\"f')
    expect(goStringOfCommonName('#hash')).toBe('CN=\\#hash')
    expect(goString([{ CN: [' padded '] }])).toBe('CN=\\ padded\\ ')
    expect(goString([{ CN: ['in#side and in side'] }])).toBe('CN=in#side and in side')
    expect(goString([{ CN: ['ünïcødé '] }])).toBe('CN=ünïcødé\\ ')
  })

  it('prints attributes Go has no name for as OID=#hex at the end, last first', () => {
    // DC (IA5String) and emailAddress: Go re-marshals the string: PrintableString or UTF8String.
    expect(goString('DC=com, DC=example, CN=x, E=a@b.c')).toBe(
      'CN=x,1.2.840.113549.1.9.1=#0c056140622e63,0.9.2342.19200300.100.1.25=#13076578616d706c65,0.9.2342.19200300.100.1.25=#1303636f6d',
    )
  })

  it('reads the other string types and keeps non-strings as they are encoded', () => {
    expect(goStringOfValues([CN_OID, 0x12, [0x31, 0x32]])).toBe('CN=12') // NumericString
    expect(goStringOfValues([CN_OID, 0x14, [0xe9]])).toBe('CN=é') // T61String, as Latin-1
    expect(goStringOfValues([CN_OID, 0x1e, [0x20, 0xac]])).toBe('CN=€') // BMPString
    // A standard attribute that is not a string is dropped; an unnamed one is printed as encoded.
    expect(goStringOfValues([CN_OID, 0x02, [5]], [UNNAMED_OID, 0x05, []])).toBe('1.2.3.4=#0500')
    expect(goStringOfValues([UNNAMED_OID, 0x1c, [0, 0, 0, 0x41]])).toBe('1.2.3.4=#1c0400000041')
  })
})

describe('signature algorithm in Go form', () => {
  const RSA_PSS = '1.2.840.113549.1.1.10'
  const hash = tlv(0x30, tlv(0x06, [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01])) // SHA-256
  const mgf1 = tlv(0x06, [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08])
  const pss = (salt: number, trailer?: number) =>
    new AlgorithmIdentifier({
      algorithm: RSA_PSS,
      parameters: Uint8Array.from(
        tlv(0x30, [
          ...tlv(0xa0, hash),
          ...tlv(0xa1, tlv(0x30, [...mgf1, ...hash])),
          ...tlv(0xa2, tlv(0x02, [salt])),
          ...(trailer === undefined ? [] : tlv(0xa3, tlv(0x02, [trailer]))),
        ]),
      ).buffer,
    })

  it('names RSA-PSS only for the parameter sets Go knows', () => {
    expect(goSignatureName(pss(32))).toBe('SHA256WithRSAPSS')
    expect(goSignatureName(pss(32, 1))).toBe('SHA256WithRSAPSS')
    expect(goSignatureName(pss(20))).toBe('0')
    expect(goSignatureName(pss(32, 2))).toBe('0')
    expect(goSignatureName(new AlgorithmIdentifier({ algorithm: RSA_PSS }))).toBe('0')
    expect(goSignatureName(new AlgorithmIdentifier({ algorithm: '1.2.3' }))).toBe('0')
    expect(goSignatureName(new AlgorithmIdentifier({ algorithm: '1.3.101.112' }))).toBe('Ed25519')
  })
})
