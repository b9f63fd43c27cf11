/**
 * The access decision: a pure function of (rules, who, action, certificate facts, now). No I/O, so
 * it is tested exhaustively and can be replayed over the audit log.
 *
 * Facts the caller could not establish are `undefined`. An allow rule whose condition needs a missing
 * fact does not match; a deny rule whose condition needs one does (fail closed). For actions on the
 * collection (a list request, before its items are known) certificate conditions do not apply: the
 * list's items are then decided one by one with their own facts.
 */
import type { PolicyAction, Rule } from './rules'

export interface Subject {
  memberId: string
  teamId: string
  roles: readonly string[]
}

export interface CertificateFacts {
  /** The owning team from the ledger; `null` when nobody owns the certificate. */
  ownerTeam: string | null
  ca?: boolean
  hasAssociations?: boolean
  /** RFC 3339. */
  expiresOn?: string
}

export interface Verdict {
  effect: 'allow' | 'deny'
  /** The rules that decided; empty when nothing matched (default deny). */
  ruleIds: string[]
  reason: string
}

export interface Decision extends Verdict {
  /** Set when an allowing rule requires a second person's approval. */
  approval?: { roles: string[]; ttlMinutes: number }
  /** What shadow rules would have decided, when at least one of them matched. Never enforced. */
  shadow?: Verdict
}

type Match = 'yes' | 'no' | 'unknown'
const DAY_MS = 86_400_000

function all(results: Match[]): Match {
  if (results.includes('no')) return 'no'
  return results.includes('unknown') ? 'unknown' : 'yes'
}

function conditionsMatch(
  rule: Rule,
  subject: Subject,
  facts: CertificateFacts | undefined,
  now: Date,
): Match {
  const { ca, has_associations, expires_within_days } = rule.conditions
  const owner = rule.conditions.owner ?? (rule.effect === 'allow' ? 'own_team' : 'any')
  if (facts === undefined) {
    // A decision about the collection (a list request): certificate conditions cannot apply. An
    // allow rule still opens the request (each item is then decided with its facts); a deny rule
    // that is about some certificates only must not refuse the whole collection.
    const aboutSome =
      owner !== 'any' ||
      ca !== undefined ||
      has_associations !== undefined ||
      expires_within_days !== undefined
    return rule.effect === 'deny' && aboutSome ? 'no' : 'yes'
  }
  const results: Match[] = []
  if (owner === 'own_team') results.push(facts.ownerTeam === subject.teamId ? 'yes' : 'no')
  if (owner === 'unowned') results.push(facts.ownerTeam === null ? 'yes' : 'no')
  const known = <T>(value: T | undefined, test: (v: T) => boolean | undefined): Match => {
    const result = value === undefined ? undefined : test(value)
    return result === undefined ? 'unknown' : result ? 'yes' : 'no'
  }
  if (ca !== undefined) results.push(known(facts.ca, (v) => v === ca))
  if (has_associations !== undefined) {
    results.push(known(facts.hasAssociations, (v) => v === has_associations))
  }
  if (expires_within_days !== undefined) {
    results.push(
      known(facts.expiresOn, (v) => {
        const expires = Date.parse(v)
        // A date that does not parse is as unknown as a missing one.
        return Number.isNaN(expires)
          ? undefined
          : expires - now.getTime() <= expires_within_days * DAY_MS
      }),
    )
  }
  return all(results)
}

function subjectMatches(rule: Rule, subject: Subject): boolean {
  const { teams, roles, members } = rule.subjects
  return (
    (teams === undefined || teams.includes(subject.teamId)) &&
    (roles === undefined || roles.some((role) => subject.roles.includes(role))) &&
    (members === undefined || members.includes(subject.memberId))
  )
}

/**
 * `strict`: unknown facts make allows fail and denies hold (the real decision). `optimistic`: the
 * reverse, which gives "allow" whenever *some* value of the unknown facts could; so an optimistic
 * "deny" is certain, and lets the gateway refuse without asking the upstream for the facts.
 */
export type UnknownFacts = 'strict' | 'optimistic'

function matching(
  rules: readonly Rule[],
  subject: Subject,
  action: PolicyAction,
  facts: CertificateFacts | undefined,
  now: Date,
  unknown: UnknownFacts,
) {
  return rules.filter((rule) => {
    if (!rule.actions.includes(action) && !rule.actions.includes('*')) return false
    if (!subjectMatches(rule, subject)) return false
    const match = conditionsMatch(rule, subject, facts, now)
    if (match !== 'unknown') return match === 'yes'
    return (rule.effect === 'deny') === (unknown === 'strict')
  })
}

function verdict(matched: Rule[], action: PolicyAction, subject: Subject): Verdict {
  const denies = matched.filter((r) => r.effect === 'deny').map((r) => r.id)
  if (denies.length > 0) {
    return { effect: 'deny', ruleIds: denies, reason: `${action} denied by ${denies.join(', ')}` }
  }
  const allows = matched.map((r) => r.id)
  if (allows.length > 0) {
    return { effect: 'allow', ruleIds: allows, reason: `${action} allowed by ${allows.join(', ')}` }
  }
  return { effect: 'deny', ruleIds: [], reason: `no rule allows ${action} for ${subject.memberId}` }
}

export function decide(
  rules: readonly Rule[],
  subject: Subject,
  action: PolicyAction,
  facts: CertificateFacts | undefined,
  now: Date,
  unknown: UnknownFacts = 'strict',
): Decision {
  const matched = matching(rules, subject, action, facts, now, unknown)
  const enforced = matched.filter((r) => r.mode === 'enforce')
  const decision: Decision = verdict(enforced, action, subject)

  if (decision.effect === 'allow') {
    // Gates are looked for optimistically: a gate that *could* apply (say, "CA deletes need an
    // approver" while it is unknown whether the certificate is a CA) applies. A missing fact must
    // never be what removes the second person.
    const gated = matching(rules, subject, action, facts, now, 'optimistic').filter(
      (r) => r.mode === 'enforce' && r.approval !== undefined,
    )
    if (gated.length > 0) {
      decision.approval = {
        roles: [...new Set(gated.flatMap((r) => r.approval!.roles))],
        ttlMinutes: Math.min(...gated.map((r) => r.approval!.ttl_minutes)),
      }
    }
  }
  if (matched.some((r) => r.mode === 'shadow')) decision.shadow = verdict(matched, action, subject)
  return decision
}
