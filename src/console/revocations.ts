/**
 * Signed-out console sessions, in the KV namespace CONSOLE_SESSIONS. A session's MAC proves the
 * gateway issued it, not that it is still wanted: sign-out records its id here until the moment
 * it would have expired anyway, and every console request checks it.
 *
 * Key layout: `revoked:v1:<session id>`, value the member's id, expiring (KV TTL) when the session
 * would have, at least 60 s (KV's minimum). One write per sign-out, none per sign-in or page view.
 *
 * Why KV: a revocation is written once and read on every console page, anywhere; KV reads are
 * local and cheap, and the coordinator (one Durable Object per account) would add a round trip to
 * every page and has no account to shard a member's session on. The price is KV's propagation: a
 * signed-out cookie is refused at once where it was signed out, and elsewhere within about a
 * minute. Sign-out also deletes the cookie from the browser, so that window matters only for a
 * copied cookie. If the namespace cannot be read, the session is refused (fail closed).
 */
import type { Session } from './session'

const MIN_TTL_SECONDS = 60
const keyOf = (sessionId: string) => `revoked:v1:${sessionId}`

export async function revoke(kv: KVNamespace, session: Session, now: number): Promise<void> {
  const ttl = Math.max(MIN_TTL_SECONDS, Math.ceil((session.expiresAt - now) / 1000))
  await kv.put(keyOf(session.id), session.member, { expirationTtl: ttl })
}

export async function isRevoked(kv: KVNamespace, sessionId: string): Promise<boolean> {
  return (await kv.get(keyOf(sessionId))) !== null
}
