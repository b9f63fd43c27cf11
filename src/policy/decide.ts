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

/** A condition's result on a fact that may be missing; a test answering undefined is unknown too. */
function known(value: unknown, result: boolean | undefined): Match {
  if (value === undefined || result === undefined) return 'unknown'
  return result ? 'yes' : 'no'
}

/** Whether `expiresOn` is within `days` of `now`; undefined for a missing or unparsable date. */
function expiresWithin(
  expiresOn: string | undefined,
  days: number,
  now: Date,
): boolean | undefined {
  if (expiresOn === undefined) return undefined
  const expires = Date.parse(expiresOn)
  return Number.isNaN(expires) ? undefined : expires - now.getTime() <= days * DAY_MS
}

/** Both conditions: one "no" decides, else one "unknown" does. */
function both(a: Match, b: Match): Match {
  if (a === 'no' || b === 'no') return 'no'
  return a === 'unknown' || b === 'unknown' ? 'unknown' : 'yes'
}

// Runs once per rule and item of a list (each item is decided with its own facts), so it folds
// the conditions as it goes: no list of results, no closure per call.
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
  let match: Match = 'yes'
  if (owner === 'own_team') match = facts.ownerTeam === subject.teamId ? 'yes' : 'no'
  if (owner === 'unowned') match = facts.ownerTeam === null ? 'yes' : 'no'
  if (ca !== undefined) match = both(match, known(facts.ca, facts.ca === ca))
  if (has_associations !== undefined) {
    const value = facts.hasAssociations
    match = both(match, known(value, value === has_associations))
  }
  if (expires_within_days !== undefined) {
    const within = expiresWithin(facts.expiresOn, expires_within_days, now)
    match = both(match, known(within, within))
  }
  return match
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

/** The rules of `applicable` that match the facts, in the policy's order. */
function matching(
  applicable: readonly Rule[],
  subject: Subject,
  facts: CertificateFacts | undefined,
  now: Date,
  unknown: UnknownFacts,
): Rule[] {
  const matched: Rule[] = []
  for (const rule of applicable) {
    const match = conditionsMatch(rule, subject, facts, now)
    const holds =
      match === 'unknown' ? (rule.effect === 'deny') === (unknown === 'strict') : match === 'yes'
    if (holds) matched.push(rule)
  }
  return matched
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

/** What the decision for one action needs of the rules, whatever the facts. */
interface ActionRules {
  /** The rules naming the action (or `*`) whose subjects include the subject. */
  applicable: readonly Rule[]
  /** Those of them that are enforced and gate an allow behind an approval. */
  gates: readonly Rule[]
}

export type Decider = (
  action: PolicyAction,
  facts: CertificateFacts | undefined,
  now: Date,
  unknown?: UnknownFacts,
) => Decision

/**
 * `decide` for one subject. What depends only on the subject and the action (which rules could
 * apply at all, which of them gate) is worked out once per action, so that deciding each item of
 * a list of 1,000 only tests the conditions of the few rules that remain.
 */
export function deciderFor(rules: readonly Rule[], subject: Subject): Decider {
  const byAction = new Map<PolicyAction, ActionRules>()
  const rulesOf = (action: PolicyAction): ActionRules => {
    let found = byAction.get(action)
    if (found === undefined) {
      const applicable = rules.filter(
        (rule) =>
          (rule.actions.includes(action) || rule.actions.includes('*')) &&
          subjectMatches(rule, subject),
      )
      const gates = applicable.filter((r) => r.mode === 'enforce' && r.approval !== undefined)
      found = { applicable, gates }
      byAction.set(action, found)
    }
    return found
  }

  return (action, facts, now, unknown = 'strict') => {
    const { applicable, gates } = rulesOf(action)
    const matched = matching(applicable, subject, facts, now, unknown)
    const enforced = matched.filter((r) => r.mode === 'enforce')
    const decision: Decision = verdict(enforced, action, subject)

    if (decision.effect === 'allow' && gates.length > 0) {
      // Gates are looked for optimistically: a gate that *could* apply (say, "CA deletes need an
      // approver" while it is unknown whether the certificate is a CA) applies. A missing fact must
      // never be what removes the second person.
      const gated = matching(gates, subject, facts, now, 'optimistic')
      if (gated.length > 0) {
        decision.approval = {
          roles: [...new Set(gated.flatMap((r) => r.approval!.roles))],
          ttlMinutes: Math.min(...gated.map((r) => r.approval!.ttl_minutes)),
        }
      }
    }
    if (matched.some((r) => r.mode === 'shadow'))
      decision.shadow = verdict(matched, action, subject)
    return decision
  }
}

export function decide(
  rules: readonly Rule[],
  subject: Subject,
  action: PolicyAction,
  facts: CertificateFacts | undefined,
  now: Date,
  unknown: UnknownFacts = 'strict',
): Decision {
  return deciderFor(rules, subject)(action, facts, now, unknown)
}
