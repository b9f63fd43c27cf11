/**
 * Go's `pkix.Name.String()` and signature names, checked on names built with @peculiar/x509 (unit
 * level) and through an upload (the issuer of a self-signed certificate).
 */
import { Name } from '@peculiar/x509'
import { beforeEach, describe, expect, it } from 'vitest'

import { readNode } from '../src/der'
import { goNameString } from '../src/go-names'
import { makeCertificate, resetEmulator, upload } from './helpers'

function goString(name: string | { [type: string]: string[] }[]): string {
  return goNameString(readNode(new Uint8Array(new Name(name).toArrayBuffer())))
}

/** A Name with one UTF8String CN, built by hand: @peculiar/x509 reads `#...` values as hex. */
function goStringOfCommonName(value: string): string {
  const tlv = (tag: number, body: number[]) => [tag, body.length, ...body]
  const cn = [...new TextEncoder().encode(value)]
  const atv = tlv(0x30, [...tlv(0x06, [0x55, 0x04, 0x03]), ...tlv(0x0c, cn)])
  return goNameString(readNode(Uint8Array.from(tlv(0x30, tlv(0x31, atv)))))
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
})
