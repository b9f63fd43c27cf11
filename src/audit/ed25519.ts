/**
 * The gateway's public signature (Ed25519, WebCrypto) for what an auditor keeps: checkpoints
 * (checkpoint.ts) and the end marker of an export (export.ts). Entries stay sealed with the HMAC
 * key (signing.ts); an HMAC checkpoint could be redone by anyone who can check it, so these are
 * signed with a private key only the Worker holds (the secret AUDIT_ED25519_PRIVATE_KEY) and
 * checked with the public key the gateway publishes (`GET /gateway/v1/audit/public-key`), which an
 * auditor pins. Whoever verifies can no longer forge.
 *
 * The secret is a private JWK (RFC 8037: `{"kty":"OKP","crv":"Ed25519","d":...,"x":...}`, made by
 * `npm run audit:key`): JWK because it carries the public half (`x`), which WebCrypto cannot
 * derive from a PKCS#8 seed without exporting it. The key id is the RFC 7638 thumbprint of the
 * public key, so a signature names the key it needs and a pinned key is recognised by its id.
 *
 * Pure WebCrypto: the Worker and the offline verifier (scripts/audit-verify.ts) share it. Caches
 * hold keys, never the promise of one (issue 17).
 */
import { z } from '@hono/zod-openapi'
import { base64url, fromBase64url } from '../lib/encoding'
import { GatewayError } from '../lib/errors'

const b64url32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes, base64url')

/** The secret as the configuration reads it (other JWK members, such as key_ops, are ignored). */
export const privateJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  d: b64url32,
  x: b64url32,
})
export type PrivateJwk = z.output<typeof privateJwkSchema>

export const publicKeySchema = z
  .strictObject({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: b64url32,
    kid: z.string(),
    alg: z.literal('EdDSA'),
    use: z.literal('sig'),
  })
  .openapi('AuditPublicKey', {
    description:
      'The public key (JWK) that checks checkpoints and export markers: pin it, keep it outside Cloudflare',
  })
export type PublicKey = z.output<typeof publicKeySchema>

const encoder = new TextEncoder()
// Spelt this way because the Worker's and Node's type libraries name CryptoKey differently.
type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>

/** RFC 7638: SHA-256 over the required members in lexical order, base64url. */
export async function keyIdOf(x: string): Promise<string> {
  const text = `{"crv":"Ed25519","kty":"OKP","x":"${x}"}`
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

export async function publicKeyOf(jwk: { x: string }): Promise<PublicKey> {
  return {
    kty: 'OKP',
    crv: 'Ed25519',
    x: jwk.x,
    kid: await keyIdOf(jwk.x),
    alg: 'EdDSA',
    use: 'sig',
  }
}

const signingKeys = new Map<string, Key>()
const verifyingKeys = new Map<string, Key>()

/**
 * The private key, imported once per isolate and proven to match its public half (a secret whose
 * `x` belongs to another key would publish a key that checks nothing): rejects if it does not.
 */
async function privateKey(jwk: PrivateJwk): Promise<Key> {
  const known = signingKeys.get(jwk.x)
  if (known !== undefined) return known
  const key = await crypto.subtle.importKey(
    'jwk',
    { kty: 'OKP', crv: 'Ed25519', d: jwk.d, x: jwk.x },
    { name: 'Ed25519' },
    false,
    ['sign'],
  )
  const probe = encoder.encode('mtls-gateway-audit-key-probe')
  const signature = await crypto.subtle.sign('Ed25519', key, probe)
  if (!(await crypto.subtle.verify('Ed25519', await publicKey(jwk.x), signature, probe))) {
    // A configuration error like any other (config.ts): logged without the secret, 503 / 18501.
    console.error('AUDIT_ED25519_PRIVATE_KEY: its "x" is not the public half of its "d"')
    throw GatewayError.of('MISCONFIGURED')
  }
  signingKeys.set(jwk.x, key)
  return key
}

async function publicKey(x: string): Promise<Key> {
  const known = verifyingKeys.get(x)
  if (known !== undefined) return known
  const key = await crypto.subtle.importKey(
    'jwk',
    { kty: 'OKP', crv: 'Ed25519', x },
    { name: 'Ed25519' },
    false,
    ['verify'],
  )
  verifyingKeys.set(x, key)
  return key
}

/** An Ed25519 signature over `text`, base64url (86 characters). */
export async function signText(jwk: PrivateJwk, text: string): Promise<string> {
  return base64url(await crypto.subtle.sign('Ed25519', await privateKey(jwk), encoder.encode(text)))
}

/** True only for a 64-byte signature over `text` by this public key. */
export async function verifyText(key: PublicKey, text: string, sig: unknown): Promise<boolean> {
  const bytes = typeof sig === 'string' ? fromBase64url(sig) : undefined
  if (bytes?.length !== 64) return false
  try {
    return await crypto.subtle.verify(
      'Ed25519',
      await publicKey(key.x),
      bytes,
      encoder.encode(text),
    )
  } catch {
    return false
  }
}

/**
 * A public key as an auditor hands it over: the JWK the endpoint answers (or its envelope), or
 * a bare `{kty, crv, x}`. The key id is worked out, never believed: a `kid` that does not match
 * `x` is refused.
 */
export async function readPublicKey(json: unknown): Promise<PublicKey | string> {
  const candidate =
    typeof json === 'object' && json !== null && 'result' in json
      ? (json as { result: unknown }).result
      : json
  const parsed = z
    .object({
      kty: z.literal('OKP'),
      crv: z.literal('Ed25519'),
      x: b64url32,
      kid: z.string().optional(),
    })
    .safeParse(candidate)
  if (!parsed.success) return 'not an Ed25519 public key (a JWK with kty OKP, crv Ed25519 and x)'
  if ('d' in (candidate as object)) return 'a private key: give the public key only'
  const key = await publicKeyOf(parsed.data)
  if (parsed.data.kid !== undefined && parsed.data.kid !== key.kid) {
    return `its kid ${parsed.data.kid} is not the thumbprint of its x (${key.kid})`
  }
  return key
}
