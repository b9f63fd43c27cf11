/**
 * Gateway API keys: their format, how they are minted and how they are hashed.
 *
 * A key is `mtlsgw_` followed by 43 base64url characters (32 random bytes). The prefix makes a
 * leaked key easy to recognise in logs and secret scanners. Only the SHA-256 of a key is ever
 * stored (in the policy document); the key itself is shown once, when minted.
 *
 * Checked keys (issue 20: unknown keys cost no coordinator call): a key minted by the members API
 * has the same shape, but its 43 characters are 32 of randomness (24 bytes) and an 11-character
 * check value, the first 8 bytes of an HMAC-SHA256 of those 32 characters under a key derived from
 * the gateway's AUDIT_SIGNING_KEY. An isolate can tell a key the gateway minted from a guess
 * without asking anybody, so a flood of forged keys is refused where it lands. The check key is
 * derived (HMAC of a fixed label), never the signing key itself, and the secret is the one the
 * gateway already holds and never rotates (old audit entries verify under it), so no new secret is
 * provisioned. A key minted before (all 43 characters random: `npm run key` for the policy, or a
 * table key from before checked keys) fails the check, and is still looked up while the table
 * holds such keys (identity/table-keys.ts `mayBeTableKey`).
 */
import { base64url, hex } from '../lib/encoding'

const KEY_PREFIX = 'mtlsgw_'
const KEY_PATTERN = /^mtlsgw_[A-Za-z0-9_-]{43}$/

export function isWellFormedKey(candidate: string): boolean {
  return KEY_PATTERN.test(candidate)
}

export function mintKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return KEY_PREFIX + base64url(bytes)
}

const CHECK_LABEL = 'mtls-gateway member key check value v1'
const RANDOM_CHARS = 32
/** Derived check keys, by secret (a value once derived: a CryptoKey, never a pending promise). */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>
const checkKeys = new Map<string, HmacKey>()

async function checkKeyFor(secret: string): Promise<HmacKey> {
  const known = checkKeys.get(secret)
  if (known !== undefined) return known
  const hmac = { name: 'HMAC', hash: 'SHA-256' }
  const encoder = new TextEncoder()
  const root = await crypto.subtle.importKey('raw', encoder.encode(secret), hmac, false, ['sign'])
  const derived = await crypto.subtle.sign('HMAC', root, encoder.encode(CHECK_LABEL))
  const key = await crypto.subtle.importKey('raw', derived, hmac, false, ['sign'])
  if (checkKeys.size >= 4) checkKeys.clear()
  checkKeys.set(secret, key)
  return key
}

async function checkValueOf(random: string, secret: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    'HMAC',
    await checkKeyFor(secret),
    new TextEncoder().encode(random),
  )
  return base64url(new Uint8Array(mac).slice(0, 8))
}

/** A key carrying its check value under `secret` (see the file comment); same shape as any key. */
export async function mintCheckedKey(secret: string): Promise<string> {
  const random = base64url(crypto.getRandomValues(new Uint8Array(24)))
  return KEY_PREFIX + random + (await checkValueOf(random, secret))
}

/** Whether a well-formed key carries a true check value under `secret` (constant time). */
export async function hasCheckValue(key: string, secret: string): Promise<boolean> {
  if (!isWellFormedKey(key)) return false
  const body = key.slice(KEY_PREFIX.length)
  const expected = await checkValueOf(body.slice(0, RANDOM_CHARS), secret)
  // Constant time by hand: this module also runs in Node (scripts/), which has no timingSafeEqual
  // on crypto.subtle. Both sides are 11 base64url characters.
  const presented = body.slice(RANDOM_CHARS)
  let difference = expected.length ^ presented.length
  for (let i = 0; i < expected.length; i++) {
    difference |= expected.charCodeAt(i) ^ presented.charCodeAt(i)
  }
  return difference === 0
}

/** Lowercase hex SHA-256 of the key, as stored in the policy's `key_sha256`. */
export async function hashKey(key: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)))
}
