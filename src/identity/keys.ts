/**
 * Gateway API keys: their format, how they are minted and how they are hashed.
 *
 * A key is `mtlsgw_` followed by 43 base64url characters (32 random bytes). The prefix makes a
 * leaked key easy to recognise in logs and secret scanners. Only the SHA-256 of a key is ever
 * stored (in the policy document); the key itself is shown once, when minted.
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

/** Lowercase hex SHA-256 of the key, as stored in the policy's `key_sha256`. */
export async function hashKey(key: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)))
}
