/**
 * The exhaustive access diff and the widening review (issue 20: control/access-diff.ts,
 * control/policy-diff.ts) against hand-worked cases: a widening through a rule's condition (not a
 * role), a role granted, a revocation (narrowing only), an approval gate removed, a deny removed,
 * a budget raised and lowered, and no change at all.
 */
import { describe, expect, it } from 'vitest'
import { accessDiff } from '../../src/control/access-diff'
import { policyDiff, summaryOf } from '../../src/control/policy-diff'
import { parsePolicy, type Policy } from '../../src/policy/document'

const NOW = new Date('2026-12-07T12:00:00Z')
const ACCOUNT = '0123456789abcdef0123456789abcdef'
const hash = (c: string) => c.repeat(64)

const BASE = {
  version: 1,
  teams: [
    { id: 'payments', accounts: [ACCOUNT] },
    { id: 'identity', accounts: [ACCOUNT] },
    { id: 'platform', accounts: [ACCOUNT] },
  ],
  members: [
    { id: 'alice', team: 'payments', roles: ['developer'], key_sha256: hash('a') },
    { id: 'bob', team: 'payments', roles: ['lead'], key_sha256: hash('b') },
    { id: 'admin', team: 'platform', roles: ['admin'], key_sha256: hash('c') },
  ],
  rules: [
    {
      id: 'teams-read-own',
      description: 'developers and leads read their own',
      effect: 'allow',
      actions: ['list', 'get'],
      subjects: { roles: ['developer', 'lead'] },
    },
    {
      id: 'leads-delete-own-leaves',
      description: 'leads delete their own leaves',
      effect: 'allow',
      actions: ['delete'],
      subjects: { roles: ['lead'] },
      conditions: { ca: false },
    },
    {
      id: 'admins-anything',
      description: 'admins do anything',
      effect: 'allow',
      actions: ['*'],
      subjects: { roles: ['admin'] },
      conditions: { owner: 'any' },
    },
  ],
  budget: { upstream_requests: 1200 },
}

type Doc = typeof BASE & Record<string, unknown>
const clone = (): Doc => JSON.parse(JSON.stringify(BASE)) as Doc
function policy(doc: unknown): Policy {
  const parsed = parsePolicy(JSON.stringify(doc))
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
  return parsed.policy
}
const key = (d: { subject: object; action: string; owner: string; ca?: boolean }) =>
  `${JSON.stringify(d.subject)} ${d.action} ${d.owner} ${d.ca ?? '-'}`

describe('the exhaustive access diff', () => {
  it('finds nothing between a policy and itself, over every case', () => {
    const diff = policyDiff(policy(BASE), policy(BASE), NOW)
    expect(diff.access.differences).toEqual([])
    expect(diff.widening).toEqual([])
    // (3 teams x 3 roles + 3 members) x 10 actions x (1 collection + 3 owners x 2 kinds)
    expect(diff.access.cases).toBe((3 * 3 + 3) * 10 * 7)
  })

  it("finds a widening through a rule's condition: leads may now delete their own CAs", () => {
    const after = clone()
    after.rules[1]!.conditions = {} as { ca: boolean }
    const diff = policyDiff(policy(BASE), policy(after), NOW)
    // Worked by hand: the only case that changes is delete, own team's certificate, CA, for
    // anyone holding `lead`: the lead of each of the three teams, and bob.
    expect(diff.access.differences.map(key).sort()).toEqual(
      [
        '{"member":"bob"} delete own true',
        '{"team":"identity","role":"lead","member":"*"} delete own true',
        '{"team":"payments","role":"lead","member":"*"} delete own true',
        '{"team":"platform","role":"lead","member":"*"} delete own true',
      ].sort(),
    )
    expect(diff.access.differences.every((d) => d.change === 'newly_allowed')).toBe(true)
    expect(diff.widening).toEqual(['4 access cases newly allowed'])
    expect(diff.structural.rules).toEqual({
      added: [],
      removed: [],
      changed: ['leads-delete-own-leaves'],
    })
  })

  it('finds a role that may delete granted to a member', () => {
    const after = clone()
    after.members[0]!.roles = ['developer', 'lead']
    const diff = policyDiff(policy(BASE), policy(after), NOW)
    // alice may now delete: the collection (a delete is let through to be decided on the item)
    // and her team's leaves.
    expect(diff.access.differences.map(key).sort()).toEqual([
      '{"member":"alice"} delete collection -',
      '{"member":"alice"} delete own false',
    ])
    expect(diff.widening).toEqual([
      '2 access cases newly allowed',
      'member alice given lead, and may delete',
    ])
  })

  it('finds a revocation narrowing only: it applies at once', () => {
    const after = clone()
    ;(after.members[1] as Record<string, unknown>).revoked = true
    const diff = policyDiff(policy(BASE), policy(after), NOW)
    expect(diff.access.counts).toEqual({
      newly_allowed: 0,
      // Worked by hand, what bob could do: list and get (the collection, his team's CA, his
      // team's leaf: 3 each) and delete (the collection, his team's leaf: 2).
      newly_denied: 8,
      newly_needing_approval: 0,
      approval_no_longer_needed: 0,
    })
    expect(
      diff.access.differences.every((d) => 'member' in d.subject && d.subject.member === 'bob'),
    ).toBe(true)
    expect(diff.widening).toEqual([])
  })

  it('finds an approval gate removed, and a deny removed, widening', () => {
    const gated = clone()
    gated.rules.push({
      id: 'ca-deletes-need-admin',
      description: 'a second person for CA deletes',
      effect: 'allow',
      actions: ['delete'],
      subjects: { roles: ['lead'] },
      conditions: { ca: true },
      approval: { roles: ['admin'] },
    } as unknown as (typeof BASE.rules)[number])
    gated.rules.push({
      id: 'no-identity-deletes',
      description: 'identity deletes nothing',
      effect: 'deny',
      actions: ['delete'],
      subjects: { teams: ['identity'] },
    } as unknown as (typeof BASE.rules)[number])
    const after = clone()
    const diff = policyDiff(policy(gated), policy(after), NOW)
    expect(diff.access.counts.newly_denied).toBeGreaterThan(0) // the gated CA deletes are gone
    expect(diff.widening).toContain('deny rule no-identity-deletes removed')
    expect(diff.widening.some((r) => r.endsWith('access cases newly allowed'))).toBe(true)

    // The gate alone turned into a plain allow: approval no longer needed.
    const ungated = JSON.parse(JSON.stringify(gated)) as Doc
    delete (ungated.rules[3] as Record<string, unknown>).approval
    const lifted = accessDiff(policy(gated), policy(ungated), NOW)
    expect(lifted.counts.approval_no_longer_needed).toBeGreaterThan(0)
    expect(lifted.differences.every((d) => d.before === 'approval' && d.after === 'allow')).toBe(
      true,
    )
  })

  it('finds a budget raised widening, and lowered not', () => {
    const raised = clone()
    raised.budget = { upstream_requests: 2400 }
    expect(policyDiff(policy(BASE), policy(raised), NOW).widening).toEqual([
      '/budget/upstream_requests raised or removed',
    ])
    const lowered = clone()
    lowered.budget = { upstream_requests: 600 }
    const diff = policyDiff(policy(BASE), policy(lowered), NOW)
    expect(diff.widening).toEqual([])
    expect(diff.structural.limits).toEqual([
      { pointer: '/budget/upstream_requests', before: 1200, after: 600 },
    ])
    expect(summaryOf(diff)).toContain('not widening')
  })
})
