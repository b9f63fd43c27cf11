/**
 * The what-if replay (issue 20): the recorded requests of a window decided again under a proposed
 * policy, and the decisions that would change, per team and action, with sample entry ids.
 *
 * A request entry is replayable when it holds what its decision was made on (`decided_on`: the
 * caller's roles and the certificate's facts, recorded since issue 20) and the decision itself.
 * It is decided again with policy/decide.ts at the entry's own time (so expiry conditions see the
 * certificate as it was then), for the member as the proposal has them: a member the proposal
 * removes, revokes or lets expire is allowed nothing; one it gives another role or team is decided
 * with those. What it cannot replay, counted by reason: entries before `decided_on` was recorded,
 * entries with no policy decision (refused before one: unauthenticated, invalid, over a rate;
 * flood summaries), and actions the policy does not decide (whoami, sign-in...). It compares the
 * effect (allow or deny); whether an allow would wait for an approval is not recorded by the old
 * entries, so the replay does not claim it.
 */
import type { AuditEntry } from '../audit/entry'
import { deciderFor, type CertificateFacts, type Decider } from '../policy/decide'
import type { Policy } from '../policy/document'
import { ACTIONS, type PolicyAction } from '../policy/rules'

export const SAMPLES_PER_CHANGE = 5

export interface WhatIfChange {
  team: string
  action: string
  from: 'allow' | 'deny'
  to: 'allow' | 'deny'
  count: number
  /**
   * Up to SAMPLES_PER_CHANGE request ids, newest first as given: what the audit query's
   * `request_id` and the console's entry page open (an entry's own id is no query's key).
   */
  samples: string[]
}

export interface WhatIf {
  entries: number
  replayed: number
  unchanged: number
  not_replayable: { before_decided_on: number; no_decision: number; not_a_policy_action: number }
  changes: WhatIfChange[]
}

const POLICY_ACTIONS = new Set<string>(ACTIONS)

export function whatIf(entries: Iterable<AuditEntry>, proposed: Policy): WhatIf {
  const members = new Map(proposed.members.map((m) => [m.id, m]))
  const deciders = new Map<string, Decider | null>()
  /** The member's decider under the proposal (null: allowed nothing there), once per member. */
  const deciderOf = (memberId: string, at: Date): Decider | null => {
    const member = members.get(memberId)
    if (
      member === undefined ||
      member.revoked ||
      (member.expires_at !== undefined && Date.parse(member.expires_at) <= at.getTime())
    ) {
      return null
    }
    let known = deciders.get(memberId)
    if (known === undefined) {
      known = deciderFor(proposed.rules, { memberId, teamId: member.team, roles: member.roles })
      deciders.set(memberId, known)
    }
    return known
  }

  const result: WhatIf = {
    entries: 0,
    replayed: 0,
    unchanged: 0,
    not_replayable: { before_decided_on: 0, no_decision: 0, not_a_policy_action: 0 },
    changes: [],
  }
  const changes = new Map<string, WhatIfChange>()
  for (const entry of entries) {
    result.entries++
    // Every request entry names its request (audit/entry.ts: `entryFromFacts` writes it, `expand`
    // gives it back from the summary's key), so no entry is passed over for lacking one: the test
    // narrows the type for the samples, which are request ids and nothing else.
    if (
      entry.kind !== 'request' ||
      entry.request_id === undefined ||
      entry.decision === undefined ||
      entry.member === undefined
    ) {
      result.not_replayable.no_decision++
      continue
    }
    if (entry.action === undefined || !POLICY_ACTIONS.has(entry.action)) {
      result.not_replayable.not_a_policy_action++
      continue
    }
    const on = entry.decided_on
    if (on === undefined) {
      result.not_replayable.before_decided_on++
      continue
    }
    result.replayed++
    const at = new Date(entry.time)
    const facts: CertificateFacts | undefined =
      on.owner === undefined
        ? undefined
        : {
            ownerTeam: on.owner === 'unowned' ? null : (on.owner_team ?? null),
            ...(on.ca !== undefined ? { ca: on.ca } : {}),
            ...(on.has_associations !== undefined ? { hasAssociations: on.has_associations } : {}),
            ...(on.expires_on !== undefined ? { expiresOn: on.expires_on } : {}),
          }
    const decider = deciderOf(entry.member, at)
    const to = decider === null ? 'deny' : decider(entry.action as PolicyAction, facts, at).effect
    const from = entry.decision.effect
    if (to === from) {
      result.unchanged++
      continue
    }
    const team = entry.team ?? '-'
    const key = `${team}\u0000${entry.action}\u0000${from}`
    let change = changes.get(key)
    if (change === undefined) {
      change = { team, action: entry.action, from, to, count: 0, samples: [] }
      changes.set(key, change)
    }
    change.count++
    if (change.samples.length < SAMPLES_PER_CHANGE) change.samples.push(entry.request_id)
  }
  result.changes = [...changes.values()].sort(
    (a, b) => b.count - a.count || a.team.localeCompare(b.team) || a.action.localeCompare(b.action),
  )
  return result
}
