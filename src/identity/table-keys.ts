/**
 * Keys from the member keys' table (issue 20, slice 4; coordinator/member-keys.ts), as
 * authentication sees them: the caller a key's hash stands for, or null.
 *
 * Each isolate caches what the coordinator said of a hash (values only: the key's record or
 * "unknown", the keys version it was read at and when), never a pending promise: two requests that
 * miss at once each ask (CONTRIBUTING "One request never waits on another"). A cached answer is
 * used while it was read at the keys version this request's policy refresh saw or a later one, and
 * for at most `LAST_USED_STEP_MS`: every change bumps the version, which each isolate learns within
 * 1 s on its policy refresh (control/served-policy.ts), so a revoked key is asked about again and
 * refused; and the minute bound is what keeps a key's last use true to within a minute.
 * Expiry and the end of a rotation's grace are checked here on every request, from the record.
 *
 * The console's sessions of table members name their key by its public id (console/identity.ts),
 * so the same answers are kept by key id too, and `tableKeyById` serves a page from them under the
 * same bound: a revocation or a rotation bumps the version, and the next page asks again.
 *
 * Before any of that, `mayBeTableKey` keeps guesses away from the coordinator: a key the members
 * API minted carries a check value (identity/keys.ts), so a key whose check value is wrong can be
 * in the table only if the table still holds working keys minted before checked keys; the count of
 * those rides on the per-second policy refresh (coordinator/member-keys.ts `unchecked`). While it
 * is 0, a forged key costs no coordinator call, however many are sent, and however they vary.
 */
import type { MemberKeyStore } from '../coordinator/client'
import { LAST_USED_STEP_MS, type MemberKey } from '../coordinator/member-keys'
import { GatewayError } from '../lib/errors'
import { hasCheckValue } from './keys'
import type { Policy } from '../policy/document'
import type { Caller } from './principal'

interface Cached {
  key: MemberKey | null
  version: number
  readAtMs: number
}

/** Bounded: unknown hashes are cached too, and a flood of guesses must not grow the isolate. */
const MAX_CACHED = 10_000
const cache = new Map<string, Cached>()
/** The same answers by the key's public id (only keys the table knows: a session names one). */
const byId = new Map<string, Cached>()

/** Whether an answer read at `known` may still be used by a request that saw `keysVersion`. */
const isFresh = (known: Cached, keysVersion: number, nowMs: number) =>
  known.version >= keysVersion && nowMs - known.readAtMs < LAST_USED_STEP_MS

function keep(map: Map<string, Cached>, id: string, known: Cached) {
  if (map.size >= MAX_CACHED) map.clear()
  map.set(id, known)
}

/**
 * Whether `key` (not in the policy) may be in the table: its check value is right, or the table
 * still holds working keys without one. False: refuse it as unknown, asking nobody.
 */
export async function mayBeTableKey(
  key: string,
  context: { checkSecret: string; uncheckedKeys: number },
): Promise<boolean> {
  return context.uncheckedKeys > 0 || (await hasCheckValue(key, context.checkSecret))
}

/**
 * The caller for `keySha256`, with its key's public id (`keyId`: what a console session is bound
 * to); null if unknown; 401 when revoked, expired or its team is gone.
 */
export async function tableKeyCaller(
  keySha256: string,
  context: { keysVersion: number; policy: Policy; store: () => MemberKeyStore },
  nowMs: number = Date.now(),
): Promise<Caller | null> {
  let known = cache.get(keySha256)
  if (known === undefined || !isFresh(known, context.keysVersion, nowMs)) {
    const answer = await context.store().use(keySha256)
    known = { key: answer.key, version: answer.version, readAtMs: nowMs }
    keep(cache, keySha256, known)
    if (answer.key !== null) keep(byId, answer.key.key_id, known)
  }
  const { key } = known
  if (key === null) return null
  if (key.revoked_ms !== null && key.revoked_ms <= nowMs) throw GatewayError.of('REVOKED_KEY')
  if (key.expires_ms <= nowMs) throw GatewayError.of('EXPIRED_KEY')
  // A team taken out of the policy takes its table members with it; fail closed.
  if (!context.policy.teams.some((team) => team.id === key.team)) return null
  return { memberId: key.member, teamId: key.team, roles: key.roles, via: 'key', keyId: key.key_id }
}

/**
 * The table's record of key `keyId` (null if it has none), from this isolate's answers while they
 * are fresh (`isFresh`), else asked. The caller judges it (console/identity.ts): a record is
 * returned as it is, revoked or expired.
 */
export async function tableKeyById(
  keyId: string,
  context: { keysVersion: number; store: () => MemberKeyStore },
  nowMs: number = Date.now(),
): Promise<MemberKey | null> {
  const known = byId.get(keyId)
  if (known !== undefined && isFresh(known, context.keysVersion, nowMs)) return known.key
  const key = await context.store().read(keyId)
  // `read` answers no version: the record is at least as new as the one this request saw.
  if (key !== null) keep(byId, keyId, { key, version: context.keysVersion, readAtMs: nowMs })
  return key
}

/** Forgets every cached answer (tests that move the clock). */
export function forgetTableKeys(): void {
  cache.clear()
  byId.clear()
}
