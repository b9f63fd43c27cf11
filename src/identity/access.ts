/**
 * Cloudflare Access tokens: verifies a `Cf-Access-Jwt-Assertion` and returns the identity it
 * carries (a person's `email`, or a service token's `common_name`). Mapping that identity to a
 * member is `authenticate.ts`'s job.
 *
 * Verification is jose's, never hand-written: RS256 only (so `alg: none` and HS256 signed with the
 * public key are refused before any key is looked at), the signature by the key the token's `kid`
 * names in the team's JWKS, `iss` equal to the team domain, `aud` containing the application's
 * audience tag, `exp` required, `exp`/`nbf` with 30 s of clock tolerance.
 *
 * Keys: one JWKS per team domain per isolate, in module memory, from `<team domain>/cdn-cgi/access/
 * certs` through jose's `createRemoteJWKSet` and the plain global `fetch` (in tests, the emulator):
 * - fetched on first use and trusted for 10 minutes (`cacheMaxAge`), then fetched again on use;
 * - a `kid` not in the cached set triggers one refetch (Access rotates its keys), but at most one per
 *   30 s (`cooldownDuration`): tokens with random `kid`s cannot make the gateway fetch on every
 *   request; within the cooldown an unknown `kid` is simply refused.
 * Workers cannot share a pending fetch between requests, so requests arriving together while the
 * set is stale may each fetch once; that is bounded by concurrency, not by what a caller sends.
 *
 * Never: log, echo or forward the token (errors carry only a fixed reason from the table below).
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import type { AccessConfig } from '../config'
import { ERROR_CODES, GatewayError } from '../lib/errors'

export const ACCESS_ASSERTION_HEADER = 'cf-access-jwt-assertion'
const CERTS_PATH = '/cdn-cgi/access/certs'
const CLOCK_TOLERANCE_SECONDS = 30
const KEYS_MAX_AGE_MS = 10 * 60_000
const REFETCH_COOLDOWN_MS = 30_000
const FETCH_TIMEOUT_MS = 5_000

/** What a verified token says about who is calling: exactly one of the two is set. */
export type AccessIdentity = { email: string } | { commonName: string }

/**
 * The Access session a verified token belongs to: its `iat` (absent when the token has none) and
 * `exp`, in seconds. A new Access sign-in issues a token with a new `iat`; the console binds its
 * CSRF tokens to them (console/identity.ts).
 */
export interface AccessSession {
  issuedAt: number | undefined
  expiresAt: number
}

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>()

function keySetFor(teamDomain: string): ReturnType<typeof createRemoteJWKSet> {
  let keySet = keySets.get(teamDomain)
  if (keySet === undefined) {
    keySet = createRemoteJWKSet(new URL(CERTS_PATH, teamDomain), {
      cacheMaxAge: KEYS_MAX_AGE_MS,
      cooldownDuration: REFETCH_COOLDOWN_MS,
      timeoutDuration: FETCH_TIMEOUT_MS,
    })
    keySets.set(teamDomain, keySet)
  }
  return keySet
}

/** The JWKS could not be fetched or used: the gateway's problem, not the caller's token's. */
class KeysUnavailable extends Error {}

export async function verifyAccessToken(
  token: string,
  access: AccessConfig,
  now: Date,
): Promise<AccessIdentity & { session: AccessSession }> {
  const remote = keySetFor(access.teamDomain)
  const getKey: JWTVerifyGetKey = async (header, jws) => {
    try {
      return await remote(header, jws)
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) throw error
      if (error instanceof errors.JWKSMultipleMatchingKeys) throw error
      throw new KeysUnavailable('the Access JWKS could not be used', { cause: error })
    }
  }
  let payload: JWTPayload
  try {
    const verified = await jwtVerify(token, getKey, {
      algorithms: ['RS256'],
      issuer: access.teamDomain,
      audience: access.audience,
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: now,
    })
    payload = verified.payload
  } catch (error) {
    if (error instanceof KeysUnavailable) {
      throw GatewayError.of('ACCESS_KEYS_UNAVAILABLE', { cause: error.cause })
    }
    throw invalid(reasonFor(error))
  }
  // `exp` is required above, so it is a number here.
  const session = { issuedAt: payload.iat, expiresAt: payload.exp ?? 0 }
  if (typeof payload.email === 'string' && payload.email !== '') {
    return { email: payload.email, session }
  }
  if (typeof payload.common_name === 'string' && payload.common_name !== '') {
    return { commonName: payload.common_name, session }
  }
  throw GatewayError.of('ACCESS_NOT_A_MEMBER', {
    message: 'The Cloudflare Access token names no email or common_name',
  })
}

function invalid(reason: string): GatewayError {
  return GatewayError.of('INVALID_ACCESS_TOKEN', {
    message: `${ERROR_CODES.INVALID_ACCESS_TOKEN.message}: ${reason}`,
  })
}

/** A fixed reason per failure, so that nothing from the token itself reaches the caller. */
function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired'
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'iss':
        return 'wrong issuer'
      case 'aud':
        return 'wrong audience'
      case 'nbf':
      case 'iat':
        return 'not valid yet'
      case 'exp':
        return error.reason === 'missing' ? 'it has no expiry' : 'it has expired'
      default:
        return 'a claim is invalid'
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'only RS256 is accepted'
  if (error instanceof errors.JWKSNoMatchingKey) return 'signed by an unknown key'
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'it names no key id (kid)'
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature'
  return 'not a well-formed JWT'
}
