/**
 * Audit entry integrity: HMAC-SHA256 (WebCrypto) under the secret AUDIT_SIGNING_KEY. Used by the
 * Worker and by the offline verifier (scripts/audit-verify.ts), so it uses nothing but WebCrypto.
 *
 * Each stored entry carries three values in its KV metadata:
 *   vh   = SHA-256 of the KV value, exactly as stored (so the value is covered by the signature)
 *   sig  = HMAC(key, "mtls-gateway-audit/v1\n" + <kv key> + "\n" + canonical(metadata without sig, seal))
 *   seal = HMAC(key, "mtls-gateway-audit-seal/v1\n" + <kv key>)
 * The signature covers the key name, so an entry cannot be moved to another time or request id.
 * The seal says only "the gateway created an entry under this key": an edited entry keeps a valid
 * seal and fails its signature (altered); an entry nobody signed fails both (forged).
 *
 * canonical(): JSON with object keys sorted by UTF-16 code units, no whitespace, `undefined`
 * members dropped; the values held here (strings, finite numbers, booleans, arrays, objects) then
 * serialise the same way everywhere (the subset of RFC 8785 that the entries use).
 */
import { base64url, fromBase64url } from '../lib/encoding'

export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
    return `{${members.join(',')}}`
  }
  return JSON.stringify(value)
}

const encoder = new TextEncoder()
// Spelt this way because the Worker's and Node's type libraries name CryptoKey differently.
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>
// Keys, never the promise of one: no request awaits a promise another request created (the
// runtime may cancel it as hung). Two requests that miss at once each import the key.
const keys = new Map<string, HmacKey>()

async function hmacKey(secret: string): Promise<HmacKey> {
  const known = keys.get(secret)
  if (known !== undefined) return known
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  )
  keys.set(secret, key)
  return key
}

export async function sha256(text: string): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

const signedText = (kvKey: string, unsigned: object) =>
  `mtls-gateway-audit/v1\n${kvKey}\n${canonical(unsigned)}`
const sealText = (kvKey: string) => `mtls-gateway-audit-seal/v1\n${kvKey}`

export interface Seals {
  sig: string
  seal: string
}

export async function sign(secret: string, kvKey: string, unsigned: object): Promise<Seals> {
  const key = await hmacKey(secret)
  const [sig, seal] = await Promise.all([
    crypto.subtle.sign('HMAC', key, encoder.encode(signedText(kvKey, unsigned))),
    crypto.subtle.sign('HMAC', key, encoder.encode(sealText(kvKey))),
  ])
  return { sig: base64url(sig), seal: base64url(seal) }
}

/** HMAC verification through WebCrypto, which compares in constant time. */
async function check(secret: string, mac: unknown, text: string): Promise<boolean> {
  const bytes = typeof mac === 'string' ? fromBase64url(mac) : undefined
  // An HMAC-SHA256 is 32 bytes: 43 base64url characters, and nothing else is one.
  if (bytes?.length !== 32) return false
  return crypto.subtle.verify('HMAC', await hmacKey(secret), bytes, encoder.encode(text))
}

export type SignatureState = 'valid' | 'unsigned' | 'altered' | 'forged'

/** Judges stored metadata (signature fields included) for the entry stored under `kvKey`. */
export async function judge(
  secret: string,
  kvKey: string,
  metadata: Record<string, unknown> | null,
): Promise<SignatureState> {
  if (metadata === null || (metadata.sig === undefined && metadata.seal === undefined)) {
    return 'unsigned'
  }
  const { sig, seal, ...unsigned } = metadata
  if (!(await check(secret, seal, sealText(kvKey)))) return 'forged'
  return (await check(secret, sig, signedText(kvKey, unsigned))) ? 'valid' : 'altered'
}

/**
 * HMAC under the entries' key over a labelled object: what signed export markers and checkpoints
 * before version 2 (they are Ed25519 now, export.ts and checkpoint.ts, because whoever can check an
 * HMAC can make one). Kept to check those older markers and checkpoints.
 */
const markerText = (marker: object) => `mtls-gateway-audit-export/v1\n${canonical(marker)}`

export async function signMarker(secret: string, marker: object): Promise<string> {
  const key = await hmacKey(secret)
  return base64url(await crypto.subtle.sign('HMAC', key, encoder.encode(markerText(marker))))
}

export async function checkMarker(secret: string, marker: object, sig: unknown): Promise<boolean> {
  return check(secret, sig, markerText(marker))
}

/** The running digest of an export's lines: each step commits to every line before it. */
export const nextLineDigest = (digest: string, line: string) => sha256(`${digest}\n${line}`)
