/**
 * The scope a job builds (kernel/scope-for.ts): the same ports a request gets, acting as the
 * gateway's system principal, whose upstream calls only the reserve pays for; and what the entry
 * schema's table derives (audit/entry.ts), where a slip would break every existing chain. The
 * snapshot's refresher: its settings worked out once per configuration, its upstream port per
 * request.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { ENTRY_FIELDS, HEAD_FIELDS, PAGE_FIELDS, auditEntrySchema } from '../../src/audit/entry'
import { configFor } from '../../src/config'
import { SYSTEM_PRINCIPAL, scopeFor } from '../../src/kernel/scope-for'
import { SLUG } from '../../src/lib/ids'
import { accountsOf } from '../../src/policy/document'
import { policyWith } from '../support/policies'

describe("a job's scope", () => {
  const config = configFor(env)
  const scope = scopeFor({ env, config, principal: SYSTEM_PRINCIPAL, requestId: 'job' })

  it('acts as the system principal, whom no policy id can name', () => {
    expect(scope.principal).toEqual({
      memberId: '_gateway',
      teamId: '_gateway',
      roles: [],
      via: 'system',
    })
    expect(SLUG.test(SYSTEM_PRINCIPAL.memberId)).toBe(false)
    expect(SLUG.test(SYSTEM_PRINCIPAL.teamId)).toBe(false)
    expect(config.policy.teams.map((t) => t.id)).not.toContain('_gateway')
  })

  it("charges its upstream calls to the reserve: no team's share, no member limit", () => {
    expect(scope.budget.caller).toEqual({
      team: '_gateway',
      member: '_gateway',
      reserveEligible: true,
      memberLimit: null,
    })
    expect(scope.budget.limits.team('_gateway').share).toBe(0)
  })

  it('is allowed nothing the policy grants by role', () => {
    expect(scope.who.decide('audit', { ownerTeam: '(every team)' }).effect).toBe('deny')
  })

  it("reads the log's chains through its audit log port", () => {
    expect(scope.auditLog.chainNames).toEqual([...accountsOf(config.policy), 'gateway'])
    expect(scope.auditLog.retentionDays).toBe(config.audit.retentionDays)
  })
})

describe("the snapshot's refresher", () => {
  it('is built per request on what is worked out once per configuration', async () => {
    const policy = JSON.parse(await policyWith()) as Record<string, unknown>
    policy.snapshot = { max_age_seconds: 60, max_stale_seconds: 600 }
    const on = { ...env, POLICY: JSON.stringify(policy) } as Env
    const config = configFor(on)
    const build = () => scopeFor({ env: on, config, principal: SYSTEM_PRINCIPAL, requestId: 'job' })
    const [one, two] = [build().snapshot!, build().snapshot!]
    // The same settings object: not worked out again for the second request.
    expect(one.settings).toBe(two.settings)
    expect(one.settings).toEqual({
      maxAgeMs: 60_000,
      maxStaleMs: 600_000,
      claimMs: expect.any(Number),
    })
    // Each request its own refresher: its upstream port counts that request's calls alone.
    expect(one.refresher).not.toBe(two.refresher)
    // Off in the policy: no port at all.
    expect(
      scopeFor({ env, config: configFor(env), principal: SYSTEM_PRINCIPAL, requestId: 'job' })
        .snapshot,
    ).toBeUndefined()
  })
})

describe("the entry's table", () => {
  it('has a row for every field of the schema, in its order', () => {
    expect(Object.keys(ENTRY_FIELDS)).toEqual(Object.keys(auditEntrySchema.shape))
  })

  it("gives the chain's link the fields it always committed to (existing chains still verify)", () => {
    expect([...HEAD_FIELDS].sort()).toEqual(
      [
        'time',
        'id',
        'kind',
        'request_id',
        'member',
        'team',
        'via',
        'action',
        'account_id',
        'fingerprint_sha256',
        'serial_number',
        // Issue 23: lifecycle entries' facts; absent from every earlier entry, so no link changes.
        'lifecycle',
        // Issue 20: new, and absent from older entries, whose heads (only the fields an entry
        // has, chain.ts `headOf`) are therefore unchanged.
        'policy_revision',
        'policy_change',
        'key_change', // issue 20, slice 4: known before the change is made
        // Issue 22 (review-audit): known from the route; absent from older entries.
        'read_only',
        'page_view',
      ].sort(),
    )
  })

  it("labels the entry page's fields", () => {
    expect(PAGE_FIELDS.map(([, label]) => label)).toEqual([
      'Time',
      'Request id',
      'Member',
      'Team',
      'Authenticated by',
      'Action',
      'Account',
      'Certificate',
      'SHA-256 fingerprint',
      'Serial number',
      'Decision',
      'Approval',
      'Outcome',
      'Latency',
      'Upstream calls',
      'Served from',
      'Certificate lifecycle',
      'Policy change',
      'Key change',
      'Policy revision',
      'CA or leaf',
      'Owning team',
    ])
  })
})
