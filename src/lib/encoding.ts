/**
 * Byte encodings, in one place: lowercase hex (key hashes, certificate fingerprints, UUIDs) and
 * base64url without padding (RFC 4648 section 5: gateway keys, audit signatures and hashes, audit
 * cursors). Built on WebCrypto-era globals only (`btoa`, `atob`), so the Worker and the Node tools
 * (scripts/) share it. Imports nothing.
 *
 * Also ASCII-only case folding (`foldAscii`), for identities compared as text.
 */

type Bytes = Uint8Array | ArrayBuffer

const view = (bytes: Bytes) => (bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))

/** Lowercase hex, two digits per byte. */
export function hex(bytes: Bytes): string {
  return Array.from(view(bytes), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** base64url without padding. */
export function base64url(bytes: Bytes): string {
  let binary = ''
  for (const b of view(bytes)) binary += String.fromCharCode(b)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * The bytes of unpadded base64url text, or undefined for anything else. `+`, `/`, `=` and
 * whitespace, which `atob` would quietly accept, are refused: nothing the gateway writes has them.
 */
export function fromBase64url(text: string): Uint8Array | undefined {
  // A length of 1 (mod 4) is not a whole number of bytes.
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0))
}

/**
 * A-Z to a-z and nothing else: how Access e-mails are compared (docs/operators.md, "How the
 * gateway checks an Access identity"). `toLowerCase()` folds far more: the Kelvin sign U+212A becomes `k`, so a token for
 * `\u212Aate@example.com` (an address the IdP may let anyone register) matched member kate.
 */
export function foldAscii(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32))
}
