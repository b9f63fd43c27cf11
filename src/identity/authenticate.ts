/**
 * Authentication: who is calling, from a gateway key (`Authorization: Bearer mtlsgw_...`) or, when
 * configured, a Cloudflare Access token (`Cf-Access-Jwt-Assertion`).
 *
 * Precedence: if Access is configured (ACCESS_TEAM_DOMAIN + ACCESS_AUD) and the request carries
 * the assertion header, the token alone decides: it must verify (an invalid or empty one is 401
 * even when a good key is sent too) and its identity must be a member; any Authorization header is
 * then ignored. Otherwise the key decides, as if Access did not exist (without Access configured
 * the assertion header is ignored: nobody could have verified it). Expired and revoked members are
 * refused whichever way they authenticate.
 *
 * The presented key is hashed and compared, in constant time, with every member's stored hash:
 * the loop never exits early, so the time taken does not say how close a guess was or where in
 * the policy a key sits. The caller's Authorization and assertion headers are read here and
 * nowhere else; the upstream request is built from scratch (see `upstream/request.ts`), so they
 * never travel on.
 */
import type { AccessConfig } from '../config'
import { foldAscii } from '../lib/encoding'
import { GatewayError } from '../lib/errors'
import type { Member, Policy } from '../policy/document'
import { verifyAccessToken, type AccessSession } from './access'
import { hashKey, isWellFormedKey } from './keys'
import type { Caller } from './principal'

const BEARER = /^Bearer +(\S+) *$/i

export interface Credentials {
  authorization: string | undefined
  accessAssertion: string | undefined
}

/**
 * Issue 20, slice 4: a key the policy does not hold is looked up by its hash in the member keys'
 * table (identity/table-keys.ts): its caller, or null when the table does not know it either.
 * It gets the key itself too, to read its check value (identity/keys.ts); it never keeps it.
 */
export type TableKeys = (keySha256: string, key: string) => Promise<Caller | null>

export async function authenticateRequest(
  credentials: Credentials,
  config: { policy: Policy; access?: AccessConfig },
  now: Date,
  tableKeys?: TableKeys,
): Promise<Caller> {
  if (config.access !== undefined && credentials.accessAssertion !== undefined) {
    return authenticateAccess(credentials.accessAssertion, config.access, config.policy, now)
  }
  return authenticateKey(credentials.authorization, config.policy, now, tableKeys)
}

export async function authenticateKey(
  authorization: string | undefined,
  policy: Policy,
  now: Date,
  tableKeys?: TableKeys,
): Promise<Caller> {
  if (authorization === undefined || authorization.trim() === '') {
    throw GatewayError.of('MISSING_CREDENTIALS')
  }
  const token = BEARER.exec(authorization)?.[1]
  if (token === undefined || !isWellFormedKey(token)) throw GatewayError.of('MALFORMED_CREDENTIALS')

  const presentedHex = await hashKey(token)
  const presented = new TextEncoder().encode(presentedHex)
  let match: Member | undefined
  for (const member of policy.members) {
    if (member.key_sha256 === undefined) continue
    const stored = new TextEncoder().encode(member.key_sha256)
    // Both sides are 64 hex characters, so lengths always agree and the comparison is total.
    if (crypto.subtle.timingSafeEqual(presented, stored) && match === undefined) match = member
  }
  if (match === undefined) {
    // The policy's members first: a table key never shadows one of them (control/members.ts).
    const fromTable = tableKeys === undefined ? null : await tableKeys(presentedHex, token)
    if (fromTable !== null) return fromTable
    throw GatewayError.of('UNKNOWN_KEY')
  }
  if (match.revoked) throw GatewayError.of('REVOKED_KEY')
  if (isExpired(match, now)) throw GatewayError.of('EXPIRED_KEY')
  return principalOf(match, 'key')
}

/**
 * A person by `email`, exactly after folding A-Z only (`foldAscii`: never Unicode case folding, so
 * the Kelvin sign is not a `k`), a service token by `common_name` (exact).
 */
async function authenticateAccess(
  assertion: string,
  access: AccessConfig,
  policy: Policy,
  now: Date,
): Promise<Caller> {
  return (await accessVisitor(assertion, access, policy, now)).principal
}

/** `authenticateAccess`, with the Access session the token belongs to (for the console). */
export async function accessVisitor(
  assertion: string,
  access: AccessConfig,
  policy: Policy,
  now: Date,
): Promise<{ principal: Caller; session: AccessSession }> {
  const identity = await verifyAccessToken(assertion, access, now)
  let match: Member | undefined
  if ('email' in identity) {
    const email = foldAscii(identity.email)
    match = policy.members.find(
      (m) => m.access_email !== undefined && foldAscii(m.access_email) === email,
    )
  } else {
    match = policy.members.find((m) => m.access_common_name === identity.commonName)
  }
  if (match === undefined) throw GatewayError.of('ACCESS_NOT_A_MEMBER')
  if (match.revoked) {
    throw GatewayError.of('REVOKED_KEY', { message: 'This member has been revoked' })
  }
  if (isExpired(match, now)) {
    throw GatewayError.of('EXPIRED_KEY', { message: 'This member has expired' })
  }
  return { principal: principalOf(match, 'access'), session: identity.session }
}

function isExpired(member: Member, now: Date): boolean {
  return member.expires_at !== undefined && Date.parse(member.expires_at) <= now.getTime()
}

/** Neither revoked nor expired: what any way of authenticating requires of a member. */
export function isActive(member: Member, now: Date): boolean {
  return !member.revoked && !isExpired(member, now)
}

function principalOf(member: Member, via: Caller['via']): Caller {
  return { memberId: member.id, teamId: member.team, roles: member.roles, via }
}
