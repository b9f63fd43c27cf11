/**
 * Console sessions: what a browser holds after signing in with a member key, and how the gateway
 * tells a session it issued from anything else. No Hono types here (cookie.ts puts it in a cookie).
 *
 * The session key is derived, not configured: HKDF-SHA256 over AUDIT_SIGNING_KEY with the label
 * below, so deploying stays "secrets + wrangler deploy", and a session MAC can never be mistaken
 * for an audit signature (a different key, derived one way). Rotating AUDIT_SIGNING_KEY signs
 * every browser out. Whoever holds that secret could forge sessions, as they could forge audit
 * entries already: it is the gateway's one signing secret.
 *
 * A sealed session is `v1.<payload>.<mac>`, both base64url: the payload is JSON with a random
 * session id, the member, a binding to the member's key (an HMAC of its stored SHA-256, so that
 * rotating or removing the key ends the sessions it started, while the cookie says nothing about
 * the key), and the issue and expiry times. Never the key itself. Sign-out is a revocation of the
 * id (revocations.ts): the MAC alone cannot say that a session was ended early.
 */
import { base64url, fromBase64url } from '../lib/encoding'

const HKDF_SALT = 'mtls-gateway/console'
const HKDF_INFO = 'console-session/v1'
/** Each MAC names what it is for, so that one kind can never be replayed as another. */
type Purpose = 'session' | 'csrf' | 'member-key'

/** Sessions end 8 hours after sign-in, whatever happens in between: a working day. */
export const SESSION_LIFETIME_MS = 8 * 3_600_000

export interface Session {
  /** Random, 128 bits: what sign-out revokes. */
  id: string
  member: string
  /** HMAC of the member's key_sha256 when the session started (see `memberKeyBinding`). */
  keyBinding: string
  /**
   * For a member whose key is in the member keys' table (minted without a deploy), that key's
   * public id: each visit asks the table whether it still works (revoked, expired, rotated past
   * its grace), as the policy's members are checked against the policy.
   */
  keyId?: string
  issuedAt: number
  expiresAt: number
}

export type Opened =
  { ok: true; session: Session } | { ok: false; reason: 'malformed' | 'forged' | 'expired' }

const encoder = new TextEncoder()
// The key, never the promise of one: no request awaits a promise another request created (the
// runtime may cancel it as hung). Two requests that miss at once each derive it.
let cached: { secret: string; key: CryptoKey } | undefined

/** The HMAC key for sessions and CSRF tokens, derived once per isolate from the signing secret. */
export async function sessionKey(signingSecret: string): Promise<CryptoKey> {
  if (cached?.secret === signingSecret) return cached.key
  const base = await crypto.subtle.importKey('raw', encoder.encode(signingSecret), 'HKDF', false, [
    'deriveKey',
  ])
  const key = await crypto.subtle.deriveKey(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: encoder.encode(HKDF_SALT),
      info: encoder.encode(HKDF_INFO),
    },
    base,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign', 'verify'],
  )
  cached = { secret: signingSecret, key }
  return key
}

const framed = (purpose: Purpose, text: string) => encoder.encode(`${purpose}\n${text}`)

export async function mac(key: CryptoKey, purpose: Purpose, text: string): Promise<string> {
  return base64url(await crypto.subtle.sign('HMAC', key, framed(purpose, text)))
}

/** Constant-time (WebCrypto's verify): a guess learns nothing from how long it took. */
export async function verifyMac(
  key: CryptoKey,
  purpose: Purpose,
  text: string,
  presented: string,
): Promise<boolean> {
  const bytes = fromBase64url(presented)
  if (bytes === undefined || bytes.length !== 32) return false
  return crypto.subtle.verify('HMAC', key, bytes, framed(purpose, text))
}

const memberKeyBinding = (key: CryptoKey, keySha256: string) => mac(key, 'member-key', keySha256)

export async function newSession(
  key: CryptoKey,
  member: { id: string; keySha256: string; keyId?: string | undefined },
  now: number,
): Promise<Session> {
  return {
    id: base64url(crypto.getRandomValues(new Uint8Array(16))),
    member: member.id,
    keyBinding: await memberKeyBinding(key, member.keySha256),
    ...(member.keyId === undefined ? {} : { keyId: member.keyId }),
    issuedAt: now,
    expiresAt: now + SESSION_LIFETIME_MS,
  }
}

export async function sealSession(key: CryptoKey, session: Session): Promise<string> {
  const payload = base64url(
    encoder.encode(
      JSON.stringify({
        sid: session.id,
        m: session.member,
        kb: session.keyBinding,
        k: session.keyId,
        iat: session.issuedAt,
        exp: session.expiresAt,
      }),
    ),
  )
  return `v1.${payload}.${await mac(key, 'session', payload)}`
}

/** The session a cookie value carries, if this gateway sealed it and it has not expired. */
export async function openSession(key: CryptoKey, sealed: string, now: number): Promise<Opened> {
  const parts = sealed.split('.')
  if (parts.length !== 3 || parts[0] !== 'v1') return { ok: false, reason: 'malformed' }
  const [, payload, presented] = parts as [string, string, string]
  // The MAC is checked before the payload is even parsed: nothing unsigned is ever read.
  if (!(await verifyMac(key, 'session', payload, presented))) return { ok: false, reason: 'forged' }
  const bytes = fromBase64url(payload)
  if (bytes === undefined) return { ok: false, reason: 'malformed' }
  let fields: Record<string, unknown>
  try {
    fields = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  const { sid, m, kb, k, iat, exp } = fields
  if (
    typeof sid !== 'string' ||
    typeof m !== 'string' ||
    typeof kb !== 'string' ||
    (k !== undefined && typeof k !== 'string') ||
    typeof iat !== 'number' ||
    typeof exp !== 'number'
  ) {
    return { ok: false, reason: 'malformed' }
  }
  if (exp <= now) return { ok: false, reason: 'expired' }
  return {
    ok: true,
    session: {
      id: sid,
      member: m,
      keyBinding: kb,
      ...(k === undefined ? {} : { keyId: k }),
      issuedAt: iat,
      expiresAt: exp,
    },
  }
}

/**
 * The CSRF token of a form: a MAC of what the form's visit is bound to (a session id, a sign-in
 * form's nonce, or an Access member with its Access token's `iat` and `exp`), so a page of another
 * site cannot know it, and a token outlives neither its session nor a new sign-in.
 */
export const csrfToken = (key: CryptoKey, binding: string) => mac(key, 'csrf', binding)
export const isCsrfToken = (key: CryptoKey, binding: string, presented: string) =>
  verifyMac(key, 'csrf', binding, presented)
