/**
 * The exhaustive access diff of two policies (issue 20): every decision that differs between them,
 * enumerated rather than sampled, so that an empty list of widenings proves "no new access".
 *
 * What is enumerated (the rule language is small: policy/rules.ts):
 *   - subjects: each team x each role, as a member holding that one role and named by no rule
 *     (`*`); and each member of either policy as they are in each (their team and all their roles
 *     at once, so a deny on one role and an allow on another meet; a member absent, revoked or
 *     expired in a policy is allowed nothing there);
 *   - every action of the rule language;
 *   - the certificate: the collection (a list, before its items are known), or one certificate
 *     owned by the subject's team, by another team, or by nobody; CA or leaf; and, only where some
 *     rule of either policy has the condition, with and without associations, and its expiry at
 *     each side of every `expires_within_days` threshold either policy names.
 * Each case is decided under both with policy/decide.ts (the gateway's own decision, enforced
 * rules only), and classed `deny`, `approval` (allowed once a second member approves) or `allow`.
 *
 * Decisions depend on a member's id only through rules naming members, and on a team's id only
 * through rules naming teams or the owner condition, which compares with the subject's own team:
 * so one case per class stands for all members and teams of the class, and the enumeration is
 * complete for the language as it stands. A new condition in rules.ts needs its cases here.
 */
import { decide, type CertificateFacts, type Subject } from '../policy/decide'
import type { Member, Policy } from '../policy/document'
import { ACTIONS, type PolicyAction, type Rule } from '../policy/rules'

export type Access = 'deny' | 'approval' | 'allow'
export type Change =
  'newly_allowed' | 'newly_denied' | 'newly_needing_approval' | 'approval_no_longer_needed'

/** Allow is wider than approval, approval than deny. */
const LEVEL: Record<Access, number> = { deny: 0, approval: 1, allow: 2 }

/** Widening changes: access that was not there, or that no longer waits for a second person. */
export const WIDENING: ReadonlySet<Change> = new Set(['newly_allowed', 'approval_no_longer_needed'])

export type Ownership = 'collection' | 'own' | 'other_team' | 'unowned'

export interface AccessCase {
  /** A team and one role (`member: '*'`), or a member of either policy by id. */
  subject: { team: string; role: string; member: '*' } | { member: string }
  action: PolicyAction
  owner: Ownership
  ca?: boolean
  has_associations?: boolean
  /** Days from now to the certificate's expiry, at the side of a threshold. */
  expires_in_days?: number
}

export interface AccessDifference extends AccessCase {
  before: Access
  after: Access
  change: Change
}

/** No policy id can be this (ids start with a letter or digit: lib/ids.ts): a rule never names it. */
const ANY_MEMBER = '*'
const ANOTHER_TEAM = '*other-team*'
const DAY_MS = 86_400_000

function accessOf(
  rules: readonly Rule[],
  subject: Subject | null,
  action: PolicyAction,
  facts: CertificateFacts | undefined,
  now: Date,
): Access {
  if (subject === null) return 'deny'
  const decision = decide(rules, subject, action, facts, now)
  if (decision.effect === 'deny') return 'deny'
  return decision.approval === undefined ? 'allow' : 'approval'
}

function changeOf(before: Access, after: Access): Change | null {
  if (before === after) return null
  if (LEVEL[after] < LEVEL[before])
    return after === 'deny' ? 'newly_denied' : 'newly_needing_approval'
  return before === 'deny' ? 'newly_allowed' : 'approval_no_longer_needed'
}

const active = (member: Member, now: Date) =>
  !member.revoked &&
  (member.expires_at === undefined || Date.parse(member.expires_at) > now.getTime())

const rolesOf = (policy: Policy) =>
  new Set([
    ...policy.members.flatMap((m) => m.roles),
    ...policy.rules.flatMap((r) => [...(r.subjects.roles ?? []), ...(r.approval?.roles ?? [])]),
  ])

/** The certificate cases worth telling apart, given the conditions both policies' rules use. */
function certificateCases(rules: readonly Rule[]) {
  const associations = rules.some((r) => r.conditions.has_associations !== undefined)
  const thresholds = [
    ...new Set(rules.flatMap((r) => r.conditions.expires_within_days ?? [])),
  ].sort((a, b) => a - b)
  // Expiry points: now, and half a day past each threshold (outside it, inside every larger one).
  const expiries: (number | undefined)[] =
    thresholds.length === 0 ? [undefined] : [0, ...thresholds.map((d) => d + 0.5)]
  const cases: Omit<AccessCase, 'subject' | 'action'>[] = [{ owner: 'collection' }]
  for (const owner of ['own', 'other_team', 'unowned'] as const) {
    for (const ca of [true, false]) {
      for (const has of associations ? [true, false] : [undefined]) {
        for (const days of expiries) {
          cases.push({
            owner,
            ca,
            ...(has !== undefined ? { has_associations: has } : {}),
            ...(days !== undefined ? { expires_in_days: days } : {}),
          })
        }
      }
    }
  }
  return cases
}

function factsOf(
  c: Omit<AccessCase, 'subject' | 'action'>,
  team: string,
  now: Date,
): CertificateFacts | undefined {
  if (c.owner === 'collection') return undefined
  const ownerTeam = c.owner === 'own' ? team : c.owner === 'other_team' ? ANOTHER_TEAM : null
  return {
    ownerTeam,
    ...(c.ca !== undefined ? { ca: c.ca } : {}),
    ...(c.has_associations !== undefined ? { hasAssociations: c.has_associations } : {}),
    ...(c.expires_in_days !== undefined
      ? { expiresOn: new Date(now.getTime() + c.expires_in_days * DAY_MS).toISOString() }
      : {}),
  }
}

export interface AccessDiff {
  /** How many cases were decided under each policy. */
  cases: number
  differences: AccessDifference[]
  counts: Record<Change, number>
}

/** Every case decided differently by `before` and `after` (see the file comment). */
export function accessDiff(before: Policy, after: Policy, now: Date): AccessDiff {
  const rules = [...before.rules, ...after.rules]
  const certificates = certificateCases(rules)
  const teams = [...new Set([...before.teams, ...after.teams].map((t) => t.id))].sort()
  const roles = [...new Set([...rolesOf(before), ...rolesOf(after)])].sort()
  const members = [...new Set([...before.members, ...after.members].map((m) => m.id))].sort()
  const subjectIn = (policy: Policy, id: string): Subject | null => {
    const member = policy.members.find((m) => m.id === id)
    return member !== undefined && active(member, now)
      ? { memberId: member.id, teamId: member.team, roles: member.roles }
      : null
  }

  const differences: AccessDifference[] = []
  const counts: Record<Change, number> = {
    newly_allowed: 0,
    newly_denied: 0,
    newly_needing_approval: 0,
    approval_no_longer_needed: 0,
  }
  let cases = 0
  const compare = (subject: AccessCase['subject'], old: Subject | null, next: Subject | null) => {
    for (const action of ACTIONS) {
      for (const certificate of certificates) {
        cases++
        const a = accessOf(
          before.rules,
          old,
          action,
          old ? factsOf(certificate, old.teamId, now) : undefined,
          now,
        )
        const b = accessOf(
          after.rules,
          next,
          action,
          next ? factsOf(certificate, next.teamId, now) : undefined,
          now,
        )
        const change = changeOf(a, b)
        if (change === null) continue
        counts[change]++
        differences.push({ subject, action, ...certificate, before: a, after: b, change })
      }
    }
  }
  for (const team of teams) {
    for (const role of roles) {
      const subject: Subject = { memberId: ANY_MEMBER, teamId: team, roles: [role] }
      compare({ team, role, member: ANY_MEMBER }, subject, subject)
    }
  }
  for (const id of members) compare({ member: id }, subjectIn(before, id), subjectIn(after, id))
  return { cases, differences, counts }
}
