/**
 * Owns: a stand-in for a Cloudflare Access team's signing keys, `GET /cdn-cgi/access/certs` on any
 * host, so that the gateway's Access checks run their production code path in tests (a plain
 * `fetch` of `<team domain>/cdn-cgi/access/certs`, routed here by `outboundService`).
 *
 * Tests set the key set with `PUT /__emulator/access/jwks` and read it back, with the number of
 * times it was fetched, from `GET /__emulator/access/jwks`; reset empties it and zeroes the count.
 * Real Access also sends `public_cert(s)`; only `keys`, which JWKS clients read, is served.
 *
 * This is not part of the mTLS API: it is never recorded in the request log (which proves what
 * reached Cloudflare's API), faulted, rate limited or authenticated. It serves public keys only.
 */
import { z } from 'zod'

export const ACCESS_CERTS_PATH = '/cdn-cgi/access/certs'

/** Private members of a JWK: a key set holding any of them is refused. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const

export const accessJwksBody = z.object({
  keys: z.array(
    z
      .looseObject({ kty: z.string().min(1), kid: z.string().optional() })
      .refine(
        (jwk) => PRIVATE_MEMBERS.every((member) => !(member in jwk)),
        'a JWKS serves public keys only (no d, p, q, dp, dq, qi or k)',
      ),
  ),
})

export type AccessJwks = z.output<typeof accessJwksBody>

let jwks: AccessJwks = { keys: [] }
let fetches = 0

export function setAccessJwks(next: AccessJwks): void {
  jwks = structuredClone(next)
}

export function accessJwksState(): AccessJwks & { fetches: number } {
  return { keys: structuredClone(jwks.keys), fetches }
}

export function resetAccessJwks(): void {
  jwks = { keys: [] }
  fetches = 0
}

export function serveAccessJwks(request: Request): Response {
  if (request.method !== 'GET') {
    return Response.json(
      { error: 'method not allowed' },
      { status: 405, headers: { allow: 'GET' } },
    )
  }
  fetches += 1
  return Response.json(jwks, { status: 200 })
}
