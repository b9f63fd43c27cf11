/**
 * Authenticates a caller by their gateway key (`Authorization: Bearer mtlsgw_...`).
 *
 * The presented key is hashed and compared, in constant time, with every member's stored hash:
 * the loop never exits early, so the time taken does not say how close a guess was or where in
 * the policy a key sits. The caller's Authorization header is read here and nowhere else; the
 * upstream request is built from scratch (see `upstream/request.ts`), so it never travels on.
 */
import { GatewayError } from '../lib/errors'
import type { Policy } from '../policy/document'
import { hashKey, isWellFormedKey } from './keys'
import type { Principal } from './principal'

const BEARER = /^Bearer +(\S+) *$/i

export async function authenticateKey(
  authorization: string | undefined,
  policy: Policy,
  now: Date,
): Promise<Principal> {
  if (authorization === undefined || authorization.trim() === '') {
    throw GatewayError.of('MISSING_CREDENTIALS')
  }
  const token = BEARER.exec(authorization)?.[1]
  if (token === undefined || !isWellFormedKey(token)) throw GatewayError.of('MALFORMED_CREDENTIALS')

  const presented = new TextEncoder().encode(await hashKey(token))
  let match: Policy['members'][number] | undefined
  for (const member of policy.members) {
    if (member.key_sha256 === undefined) continue
    const stored = new TextEncoder().encode(member.key_sha256)
    // Both sides are 64 hex characters, so lengths always agree and the comparison is total.
    if (crypto.subtle.timingSafeEqual(presented, stored) && match === undefined) match = member
  }
  if (match === undefined) throw GatewayError.of('UNKNOWN_KEY')
  if (match.revoked) throw GatewayError.of('REVOKED_KEY')
  if (match.expires_at !== undefined && Date.parse(match.expires_at) <= now.getTime()) {
    throw GatewayError.of('EXPIRED_KEY')
  }
  return { memberId: match.id, teamId: match.team, roles: match.roles, via: 'key' }
}
