/**
 * What a proposed policy changes (issue 20): the structural diff (teams, members, roles, rules,
 * budget, quotas and limits added, removed, changed), the exhaustive access diff (access-diff.ts),
 * and whether the change widens access, so that it needs a second admin's approval.
 *
 * Widening, each with its reason: any case of the access diff newly allowed or no longer waiting
 * for an approval; a member given a role, a new member, a member unrevoked or whose expiry is
 * later (or gone) when any of it lets them delete anything; a member given a new credential (key
 * hash, Access identity: whoever holds it acts as the member); a deny rule removed, changed or put
 * in shadow mode; a team given an account; a budget, quota or limit raised or removed (a number
 * larger, a list longer, a value gone, which falls back to its default). Anything else narrows or
 * only describes (a revocation, a removed member, a new deny, a lower quota) and applies at once.
 * Pure: it is computed for a proposal, and by `npm run policy -- diff` offline.
 */
import { canonical } from '../audit/signing'
import { decide } from '../policy/decide'
import type { Member, Policy } from '../policy/document'
import { accessDiff, WIDENING, type AccessDiff } from './access-diff'

export interface Delta {
  added: string[]
  removed: string[]
  changed: string[]
}

export interface StructuralDiff {
  teams: Delta
  members: Delta
  rules: Delta
  roles: { added: string[]; removed: string[] }
  /** Budget, quotas and limits: each leaf that differs, by its JSON pointer. */
  limits: { pointer: string; before: unknown; after: unknown }[]
}

export interface PolicyDiff {
  structural: StructuralDiff
  access: AccessDiff
  /** Why the change needs a second admin; empty when it does not widen. */
  widening: string[]
}

function delta<T extends { id: string }>(before: readonly T[], after: readonly T[]): Delta {
  const old = new Map(before.map((item) => [item.id, canonical(item)]))
  const next = new Map(after.map((item) => [item.id, canonical(item)]))
  return {
    added: [...next.keys()].filter((id) => !old.has(id)).sort(),
    removed: [...old.keys()].filter((id) => !next.has(id)).sort(),
    changed: [...next.keys()].filter((id) => old.has(id) && old.get(id) !== next.get(id)).sort(),
  }
}

const rolesOf = (policy: Policy) => new Set(policy.members.flatMap((m) => m.roles))

/** Every leaf of `before` and `after` that differs, by pointer (arrays as whole values). */
function leaves(before: unknown, after: unknown, pointer: string, out: StructuralDiff['limits']) {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
  if (isObject(before) && isObject(after)) {
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
      leaves(before[key], after[key], `${pointer}/${key}`, out)
    }
    return
  }
  if (canonical(before ?? null) !== canonical(after ?? null)) out.push({ pointer, before, after })
}

/** A raised limit: a larger number, a longer list, or a value removed (its default applies). */
function raised(before: unknown, after: unknown): boolean {
  if (after === undefined || after === null) return before !== undefined && before !== null
  if (typeof before === 'number' && typeof after === 'number') return after > before
  if (Array.isArray(before) && Array.isArray(after)) {
    return after.some((item) => !before.some((b) => canonical(b) === canonical(item)))
  }
  return before === undefined || typeof before !== typeof after
}

const CREDENTIALS = ['key_sha256', 'access_email', 'access_common_name'] as const

/** Whether `member`, under `policy`, may delete some certificate (with or without approval). */
function mayDelete(policy: Policy, member: Member, now: Date): boolean {
  const subject = { memberId: member.id, teamId: member.team, roles: member.roles }
  return [member.team, '*other-team*', null].some((ownerTeam) =>
    [true, false].some(
      (ca) => decide(policy.rules, subject, 'delete', { ownerTeam, ca }, now).effect === 'allow',
    ),
  )
}

function wideningOf(
  before: Policy,
  after: Policy,
  s: StructuralDiff,
  access: AccessDiff,
  now: Date,
) {
  const reasons: string[] = []
  const { counts } = access
  if (counts.newly_allowed > 0) reasons.push(`${counts.newly_allowed} access cases newly allowed`)
  if (counts.approval_no_longer_needed > 0) {
    reasons.push(`${counts.approval_no_longer_needed} access cases no longer need an approval`)
  }
  const oldMembers = new Map(before.members.map((m) => [m.id, m]))
  for (const member of after.members) {
    const old = oldMembers.get(member.id)
    const gained = member.roles.filter((r) => old === undefined || !old.roles.includes(r))
    const revived =
      old !== undefined &&
      ((old.revoked && !member.revoked) ||
        (old.expires_at !== undefined &&
          (member.expires_at === undefined ||
            Date.parse(member.expires_at) > Date.parse(old.expires_at))))
    if ((gained.length > 0 || revived) && !member.revoked && mayDelete(after, member, now)) {
      const what =
        old === undefined
          ? 'added'
          : gained.length > 0
            ? `given ${gained.join(', ')}`
            : 'reinstated or extended'
      reasons.push(`member ${member.id} ${what}, and may delete`)
    }
    for (const field of CREDENTIALS) {
      if (member[field] !== undefined && member[field] !== old?.[field]) {
        reasons.push(`member ${member.id}: a new ${field}`)
      }
    }
  }
  const newRules = new Map(after.rules.map((r) => [r.id, r]))
  for (const rule of before.rules) {
    if (rule.effect !== 'deny' || rule.mode !== 'enforce') continue
    const next = newRules.get(rule.id)
    if (next === undefined) reasons.push(`deny rule ${rule.id} removed`)
    else if (canonical(next) !== canonical(rule)) reasons.push(`deny rule ${rule.id} changed`)
  }
  const oldTeams = new Map(before.teams.map((t) => [t.id, t]))
  for (const team of after.teams) {
    const added = team.accounts.filter((a) => !oldTeams.get(team.id)?.accounts.includes(a))
    if (oldTeams.has(team.id) && added.length > 0)
      reasons.push(`team ${team.id} given ${added.join(', ')}`)
  }
  for (const leaf of s.limits) {
    if (raised(leaf.before, leaf.after)) reasons.push(`${leaf.pointer} raised or removed`)
  }
  return reasons
}

export function policyDiff(before: Policy, after: Policy, now: Date): PolicyDiff {
  const oldRoles = rolesOf(before)
  const newRoles = rolesOf(after)
  const limits: StructuralDiff['limits'] = []
  for (const key of ['budget', 'quotas', 'limits'] as const) {
    leaves(before[key], after[key], `/${key}`, limits)
  }
  const structural: StructuralDiff = {
    teams: delta(before.teams, after.teams),
    members: delta(before.members, after.members),
    rules: delta(before.rules, after.rules),
    roles: {
      added: [...newRoles].filter((r) => !oldRoles.has(r)).sort(),
      removed: [...oldRoles].filter((r) => !newRoles.has(r)).sort(),
    },
    limits,
  }
  const access = accessDiff(before, after, now)
  return { structural, access, widening: wideningOf(before, after, structural, access, now) }
}

/** One line for the audit entry and the history: the counts, never a member's credential. */
export function summaryOf(diff: PolicyDiff): string {
  const { structural: s, access } = diff
  const part = (name: string, d: Delta) =>
    `${name} +${d.added.length} -${d.removed.length} ~${d.changed.length}`
  const changes = Object.entries(access.counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`)
  return [
    part('teams', s.teams),
    part('members', s.members),
    part('rules', s.rules),
    `limits ~${s.limits.length}`,
    `access: ${changes.length > 0 ? changes.join(', ') : 'unchanged'} (${access.cases} cases)`,
    diff.widening.length > 0 ? 'widening' : 'not widening',
  ].join('; ')
}

export { WIDENING }
