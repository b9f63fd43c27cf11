/**
 * Members and keys without a deploy (issue 20, item 5), as operations: a lead adds a member to
 * their own team and mints its key (shown once, only its SHA-256 kept, in the coordinator's
 * member keys table: coordinator/member-keys.ts); a member rotates their own key, the old one kept
 * for a stated grace or revoked at once; an admin (a member the policy allows `policy`) revokes any
 * key, a lead their team's, a member their own; a team's keys are listed with their age, last use
 * and expiry, never a hash.
 *
 * Who may grant what: a lead (a member holding one of the policy's `member_keys.lead_roles`)
 * grants only roles no allow rule lets delete, approve or change the policy (nor `*`), nor reach
 * beyond the holder's own team (`owner: any` or `unowned`: an auditor reads every team's log), and
 * no lead role: the access a lead hands out is the access the policy's reviewers already gave every holder
 * of that role without a second person. Granting more is a policy proposal (control/propose.ts),
 * reviewed when it widens. Every change is put on record before it is made (`key_change`: the
 * key's public id, never the key or its hash).
 */
import type { AuditPort, Findings } from '../audit/record'
import type { MemberKeyStore } from '../coordinator/client'
import type { MemberKey, NewKey } from '../coordinator/member-keys'
import { hashKey, mintCheckedKey, mintKey } from '../identity/keys'
import type { Principal } from '../identity/principal'
import { run, type Outcome } from '../kernel/operation'
import { GatewayError } from '../lib/errors'
import type { Policy } from '../policy/document'
import type { Authorizer } from '../policy/enforce'

export interface MembersDeps {
  principal: Principal
  who: Authorizer
  audit: AuditPort
  policy: Policy
  mode: 'managed' | 'pinned'
  keys: MemberKeyStore
  /**
   * The secret minted keys' check values are made with (identity/keys.ts `mintCheckedKey`: the
   * audit signing key). Absent: keys are minted without one, and each such key keeps guesses
   * costing a coordinator call until it ends (identity/table-keys.ts), so every caller passes it.
   */
  keyCheckSecret?: string
}

const DAY_MS = 86_400_000
/** The longest a rotation may keep the old key working. */
export const MAX_GRACE_SECONDS = 7 * 86_400
/** Actions a role granted by a lead may not reach: they need a reviewed policy change. */
const RESERVED_ACTIONS = new Set(['delete', 'approve', 'policy', '*'])

/** A key as the API shows it: never its hash. */
export interface KeyView {
  key_id: string
  member: string
  team: string
  roles: string[]
  state: 'active' | 'grace' | 'revoked' | 'expired'
  created_at: string
  created_by: string
  age_days: number
  expires_at: string
  last_used_at: string | null
  revoked_at: string | null
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export function viewOf(key: MemberKey, nowMs: number): KeyView {
  const state =
    key.revoked_ms !== null && key.revoked_ms <= nowMs
      ? 'revoked'
      : key.expires_ms <= nowMs
        ? 'expired'
        : key.revoked_ms !== null
          ? 'grace'
          : 'active'
  return {
    key_id: key.key_id,
    member: key.member,
    team: key.team,
    roles: key.roles,
    state,
    created_at: iso(key.created_ms)!,
    created_by: key.created_by,
    age_days: Math.floor((nowMs - key.created_ms) / DAY_MS),
    expires_at: iso(key.expires_ms)!,
    last_used_at: iso(key.last_used_ms),
    revoked_at: iso(key.revoked_ms),
  }
}

const isAdmin = (deps: MembersDeps) =>
  deps.who.decide('policy', { ownerTeam: '_gateway' }).effect === 'allow'

const leadsTeam = (deps: MembersDeps, team: string) =>
  deps.principal.teamId === team &&
  deps.principal.roles.some((role) => deps.policy.member_keys.lead_roles.includes(role))

/** Roles a lead may grant (see the file comment). */
export function grantable(policy: Policy, role: string): boolean {
  if (policy.member_keys.lead_roles.includes(role)) return false
  return !policy.rules.some(
    (rule) =>
      (rule.effect === 'allow' &&
        rule.subjects.roles?.includes(role) === true &&
        (rule.actions.some((action) => RESERVED_ACTIONS.has(action)) ||
          (rule.conditions.owner !== undefined && rule.conditions.owner !== 'own_team'))) ||
      rule.approval?.roles.includes(role) === true,
  )
}

function managed(deps: MembersDeps) {
  if (deps.mode === 'pinned') throw GatewayError.of('POLICY_PINNED')
}

async function newKey(
  deps: MembersDeps,
  owner: { member: string; team: string; roles: string[] },
  days: number,
  nowMs: number,
): Promise<{ key: string; row: NewKey }> {
  const secret = deps.keyCheckSecret
  const key = secret === undefined ? mintKey() : await mintCheckedKey(secret)
  return {
    key,
    row: {
      checked: secret !== undefined,
      key_sha256: await hashKey(key),
      key_id: crypto.randomUUID(),
      ...owner,
      created_by: deps.principal.memberId,
      created_ms: nowMs,
      expires_ms: nowMs + days * DAY_MS,
    },
  }
}

const changeOf = (verb: 'mint' | 'rotate' | 'revoke', key: NewKey | MemberKey) => ({
  verb,
  key_id: key.key_id,
  member: key.member,
  team: key.team,
  roles: key.roles,
  expires_at: iso(key.expires_ms)!,
})

export interface AddMemberInput {
  member: string
  team?: string | undefined
  roles: string[]
  expires_in_days?: number | undefined
}

/** A minted key, the one time it is shown. */
export interface Minted extends KeyView {
  key: string
}

/** A lead adds a member to their team (or mints another key for one) and gets its key, once. */
export function addMember(
  deps: MembersDeps,
  input: AddMemberInput,
  now = new Date(),
): Promise<Outcome<Minted>> {
  return run({}, async (found: Findings) => {
    managed(deps)
    const team = input.team ?? deps.principal.teamId
    if (!leadsTeam(deps, team) && !isAdmin(deps)) throw GatewayError.of('MEMBERS_NOT_ALLOWED')
    if (!deps.policy.teams.some((t) => t.id === team)) throw GatewayError.of('MEMBERS_NOT_ALLOWED')
    const refused = input.roles.find((role) => !grantable(deps.policy, role))
    if (refused !== undefined) {
      throw GatewayError.of('MEMBER_ROLE_NOT_GRANTABLE', {
        message: `A lead cannot grant the role ${refused} (it may delete, approve, change the policy or lead): propose a policy change`,
        pointer: '/roles',
      })
    }
    if (deps.policy.members.some((m) => m.id === input.member)) {
      throw GatewayError.of('MEMBER_ID_TAKEN', { pointer: '/member' })
    }
    const nowMs = now.getTime()
    const days = input.expires_in_days ?? deps.policy.member_keys.key_days
    const { key, row } = await newKey(
      deps,
      { member: input.member, team, roles: [...new Set(input.roles)] },
      days,
      nowMs,
    )
    found.keyChange = changeOf('mint', row)
    await deps.audit.beforeChange(found)
    const answer = await deps.keys.mint(row)
    if (answer.outcome === 'member_elsewhere') throw GatewayError.of('MEMBER_ID_TAKEN')
    return { ...viewOf({ ...row, last_used_ms: null, revoked_ms: null }, nowMs), key }
  })
}

/** A member replaces their own key; the old one works `grace_seconds` more (0: stops now). */
export function rotateKey(
  deps: MembersDeps,
  input: { key_id: string; grace_seconds: number },
  now = new Date(),
): Promise<Outcome<Minted & { replaced: KeyView }>> {
  return run({}, async (found: Findings) => {
    managed(deps)
    const nowMs = now.getTime()
    const old = await deps.keys.read(input.key_id)
    // Another member's key is answered as missing: its id says nothing to whoever guessed it.
    if (old === null || old.member !== deps.principal.memberId) {
      throw GatewayError.of('MEMBER_KEY_NOT_FOUND')
    }
    if ((old.revoked_ms !== null && old.revoked_ms <= nowMs) || old.expires_ms <= nowMs) {
      throw GatewayError.of('MEMBER_KEY_ENDED')
    }
    const lifetimeDays = Math.max(1, Math.round((old.expires_ms - old.created_ms) / DAY_MS))
    const owner = { member: old.member, team: old.team, roles: old.roles }
    const { key, row } = await newKey(deps, owner, lifetimeDays, nowMs)
    const graceMs = input.grace_seconds * 1000
    found.keyChange = {
      ...changeOf('rotate', row),
      replaced_key_id: old.key_id,
      replaced_until: iso(Math.min(nowMs + graceMs, old.revoked_ms ?? Infinity))!,
    }
    await deps.audit.beforeChange(found)
    const answer = await deps.keys.rotate(old.key_id, old.member, row, graceMs)
    if (answer.outcome === 'missing' || answer.old === null) {
      throw GatewayError.of('MEMBER_KEY_NOT_FOUND')
    }
    if (answer.outcome === 'ended') throw GatewayError.of('MEMBER_KEY_ENDED')
    return {
      ...viewOf({ ...row, last_used_ms: null, revoked_ms: null }, nowMs),
      key,
      replaced: viewOf(answer.old, nowMs),
    }
  })
}

/** Revokes a key at once: an admin any key, a lead their team's, a member their own. */
export function revokeKey(
  deps: MembersDeps,
  input: { key_id: string },
  now = new Date(),
): Promise<Outcome<KeyView>> {
  return run({}, async (found: Findings) => {
    managed(deps)
    const key = await deps.keys.read(input.key_id)
    const mayRevoke =
      key !== null &&
      (key.member === deps.principal.memberId || leadsTeam(deps, key.team) || isAdmin(deps))
    if (key === null || !mayRevoke) throw GatewayError.of('MEMBER_KEY_NOT_FOUND')
    found.keyChange = changeOf('revoke', key)
    await deps.audit.beforeChange(found)
    const answer = await deps.keys.revoke(key.key_id)
    if (answer.key === null) throw GatewayError.of('MEMBER_KEY_NOT_FOUND')
    // Viewed as of the revocation, which the coordinator's clock dated (a hair after `now`).
    return viewOf(answer.key, Math.max(now.getTime(), answer.key.revoked_ms ?? 0))
  })
}

/** A team's keys: any member sees their own team's; an admin any team's, or every team's. */
export function listKeys(
  deps: MembersDeps,
  input: { team?: string | undefined },
  now = new Date(),
): Promise<Outcome<{ team: string | null; keys: KeyView[] }>> {
  return run({}, async () => {
    const team = input.team ?? deps.principal.teamId
    if (team !== deps.principal.teamId && !isAdmin(deps)) {
      throw GatewayError.of('MEMBERS_NOT_ALLOWED')
    }
    const keys = await deps.keys.list(team)
    return { team, keys: keys.map((key) => viewOf(key, now.getTime())) }
  })
}
