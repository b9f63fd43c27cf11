/**
 * Owns: whether an upload's `private_key` can be read, the way the upstream evidently reads it:
 * Go's `tls.X509KeyPair` key half is the model [I] (the upstream's fields are Go's, contract §4).
 *
 * - The first PEM block whose type is `PRIVATE KEY` or ends in ` PRIVATE KEY` is the key; other
 *   blocks (the `EC PARAMETERS` that `openssl ecparam -genkey` writes first) are skipped.
 * - An encrypted key cannot be read: `ENCRYPTED PRIVATE KEY` (PKCS#8) or OpenSSL's legacy
 *   `Proc-Type: 4,ENCRYPTED` header. The upload has no passphrase field, and Cloudflare's other
 *   certificate upload (custom certificates) states "Not have a key file password".
 * - The data must be a PKCS#1 RSA, PKCS#8 or SEC1 EC private key, tried in Go's order whatever the
 *   label says. PKCS#1 is what wrangler's e2e uploads to the real API (node-forge), PKCS#8 is the
 *   spec's example (contract §1).
 *
 * Not checked (README, Not emulated): that the key matches the certificate, its size or curve. The
 * key is only read here; it is never stored or returned.
 */

import { ECPrivateKey } from '@peculiar/asn1-ecc'
import { PrivateKeyInfo } from '@peculiar/asn1-pkcs8'
import { RSAPrivateKey } from '@peculiar/asn1-rsa'
import { AsnConvert } from '@peculiar/asn1-schema'

import { readPemBlocks } from './pem'

// Go's tls.parsePrivateKey order: PKCS#1, then PKCS#8, then SEC1.
const KEY_SCHEMAS: (new () => object)[] = [RSAPrivateKey, PrivateKeyInfo, ECPrivateKey]

function parsesAsKey(der: Uint8Array): boolean {
  return KEY_SCHEMAS.some((schema) => {
    try {
      AsnConvert.parse(der, schema)
      return true
    } catch {
      return false
    }
  })
}

export function isReadablePrivateKey(pem: string): boolean {
  const key = readPemBlocks(pem)?.find(
    (block) => block.type === 'PRIVATE KEY' || block.type.endsWith(' PRIVATE KEY'),
  )
  if (key === undefined || key.type === 'ENCRYPTED PRIVATE KEY') return false
  if (/ENCRYPTED/i.test(key.headers['Proc-Type'] ?? '')) return false
  return parsesAsKey(key.der)
}
