/**
 * The decision function on its own: every rule semantic in src/policy/rules.ts, with hand-written
 * expectations (never computed by the code under test).
 */
import { describe, expect, it } from 'vitest'
import { decide, type CertificateFacts, type Subject } from '../../src/policy/decide'
import { ruleSchema, type Rule } from '../../src/policy/rules'

const NOW = new Date('2026-11-26T12:00:00Z')
const alice: Subject = { memberId: 'alice', teamId: 'payments', roles: ['developer'] }
const own: CertificateFacts = {
  ownerTeam: 'payments',
  ca: false,
  expiresOn: '2027-11-26T12:00:00Z',
}
const others: CertificateFacts = { ...own, ownerTeam: 'identity' }
const unowned: CertificateFacts = { ...own, ownerTeam: null }

const rule = (r: Record<string, unknown>): Rule =>
  ruleSchema.parse({ description: 'test', effect: 'allow', actions: ['get'], ...r })

describe('decide', () => {
  it('denies by default, naming no rule', () => {
    expect(decide([], alice, 'get', own, NOW)).toEqual({
      effect: 'deny',
      ruleIds: [],
      reason: 'no rule allows get for alice',
    })
  })

  it('allows with the ids of every allowing rule', () => {
    const rules = [rule({ id: 'a' }), rule({ id: 'b', subjects: { roles: ['developer'] } })]
    expect(decide(rules, alice, 'get', own, NOW)).toMatchObject({
      effect: 'allow',
      ruleIds: ['a', 'b'],
    })
  })

  it('lets any matching enforced deny beat every allow', () => {
    const rules = [rule({ id: 'allow' }), rule({ id: 'no', effect: 'deny' })]
    expect(decide(rules, alice, 'get', own, NOW)).toMatchObject({ effect: 'deny', ruleIds: ['no'] })
  })

  it('only applies a rule to the actions it lists, "*" to all', () => {
    expect(decide([rule({ id: 'a', actions: ['list'] })], alice, 'get', own, NOW).effect).toBe(
      'deny',
    )
    expect(decide([rule({ id: 'a', actions: ['*'] })], alice, 'audit', own, NOW).effect).toBe(
      'allow',
    )
  })

  it.each([
    ['a team list without the caller', { teams: ['identity'] }, 'deny'],
    ['a role list without the caller', { roles: ['lead'] }, 'deny'],
    ['a member list without the caller', { members: ['bob'] }, 'deny'],
    [
      'every list containing the caller',
      { teams: ['payments'], roles: ['developer', 'lead'], members: ['alice'] },
      'allow',
    ],
    ['one list matching and one not', { teams: ['payments'], roles: ['lead'] }, 'deny'],
  ])('matches subjects: %s', (_, subjects, effect) => {
    expect(decide([rule({ id: 'a', subjects })], alice, 'get', own, NOW).effect).toBe(effect)
  })

  describe('ownership', () => {
    it.each([
      ['own_team (the default for allow)', {}, ['allow', 'deny', 'deny']],
      ['any', { owner: 'any' }, ['allow', 'allow', 'allow']],
      ['unowned', { owner: 'unowned' }, ['deny', 'deny', 'allow']],
    ])(
      'an allow rule with owner %s reaches own / other / unowned as %j',
      (_, conditions, effects) => {
        const rules = [rule({ id: 'a', conditions })]
        expect(
          [own, others, unowned].map((f) => decide(rules, alice, 'get', f, NOW).effect),
        ).toEqual(effects)
      },
    )

    it('a deny rule says nothing of ownership reaches every certificate', () => {
      const rules = [
        rule({ id: 'all', conditions: { owner: 'any' } }),
        rule({ id: 'no', effect: 'deny' }),
      ]
      expect([own, others, unowned].map((f) => decide(rules, alice, 'get', f, NOW).effect)).toEqual(
        ['deny', 'deny', 'deny'],
      )
    })
  })

  describe('certificate conditions', () => {
    it.each([
      ['ca true on a leaf', { ca: true }, own, 'deny'],
      ['ca false on a leaf', { ca: false }, own, 'allow'],
      [
        'has_associations true, none',
        { has_associations: true },
        { ...own, hasAssociations: false },
        'deny',
      ],
      [
        'has_associations false, none',
        { has_associations: false },
        { ...own, hasAssociations: false },
        'allow',
      ],
      ['expiring within 30 days, a year left', { expires_within_days: 30 }, own, 'deny'],
      [
        'expiring within 30 days, 10 days left',
        { expires_within_days: 30 },
        { ...own, expiresOn: '2026-12-06T12:00:00Z' },
        'allow',
      ],
      [
        'expiring within 30 days, already expired',
        { expires_within_days: 30 },
        { ...own, expiresOn: '2026-01-01T00:00:00Z' },
        'allow',
      ],
    ])('allow with %s', (_, conditions, facts, effect) => {
      expect(decide([rule({ id: 'a', conditions })], alice, 'get', facts, NOW).effect).toBe(effect)
    })

    it('an unknown fact never lets an allow match, and always lets a deny match', () => {
      const unknown: CertificateFacts = { ownerTeam: 'payments' }
      const allow = rule({ id: 'a', conditions: { has_associations: false } })
      expect(decide([allow], alice, 'get', unknown, NOW).effect).toBe('deny')
      const deny = rule({ id: 'no', effect: 'deny', conditions: { ca: true } })
      expect(decide([rule({ id: 'a' }), deny], alice, 'get', unknown, NOW)).toMatchObject({
        effect: 'deny',
        ruleIds: ['no'],
      })
    })

    it('treats an expiry that does not parse as unknown', () => {
      const garbled: CertificateFacts = { ...own, expiresOn: 'someday' }
      const deny = rule({ id: 'no', effect: 'deny', conditions: { expires_within_days: 30 } })
      expect(decide([rule({ id: 'a' }), deny], alice, 'get', garbled, NOW).effect).toBe('deny')
      expect(
        decide(
          [rule({ id: 'a', conditions: { expires_within_days: 30 } })],
          alice,
          'get',
          garbled,
          NOW,
        ).effect,
      ).toBe('deny')
    })

    it('does not let a deny about some certificates refuse a whole list', () => {
      const rules = [
        rule({ id: 'a', actions: ['list'] }),
        rule({ id: 'no-ca', effect: 'deny', actions: ['list'], conditions: { ca: true } }),
      ]
      expect(decide(rules, alice, 'list', undefined, NOW).effect).toBe('allow')
      expect(decide(rules, alice, 'list', { ...own, ca: true }, NOW).effect).toBe('deny')
      const everything = rule({ id: 'no', effect: 'deny', actions: ['list'] })
      expect(decide([...rules, everything], alice, 'list', undefined, NOW).effect).toBe('deny')
    })

    it('ignores certificate conditions for a decision about the collection', () => {
      const rules = [rule({ id: 'a', actions: ['list'], conditions: { ca: true } })]
      expect(decide(rules, alice, 'list', undefined, NOW).effect).toBe('allow')
    })
  })

  describe('shadow rules', () => {
    it('never change the decision, and report what they would have decided', () => {
      const rules = [rule({ id: 'a' }), rule({ id: 'trial', effect: 'deny', mode: 'shadow' })]
      expect(decide(rules, alice, 'get', own, NOW)).toEqual({
        effect: 'allow',
        ruleIds: ['a'],
        reason: 'get allowed by a',
        shadow: { effect: 'deny', ruleIds: ['trial'], reason: 'get denied by trial' },
      })
    })

    it('a shadow allow does not open what nothing allows', () => {
      const decision = decide([rule({ id: 'trial', mode: 'shadow' })], alice, 'get', own, NOW)
      expect(decision).toMatchObject({
        effect: 'deny',
        ruleIds: [],
        shadow: { effect: 'allow', ruleIds: ['trial'] },
      })
    })

    it('are not reported when none matched', () => {
      const rules = [rule({ id: 'a' }), rule({ id: 'trial', actions: ['delete'], mode: 'shadow' })]
      expect(decide(rules, alice, 'get', own, NOW)).not.toHaveProperty('shadow')
    })
  })

  describe('approval', () => {
    const del = (r: Record<string, unknown>) => rule({ actions: ['delete'], ...r })

    it('is required when any allowing rule requires it: union of roles, shortest time', () => {
      const rules = [
        del({ id: 'plain' }),
        del({
          id: 'ca',
          conditions: { ca: false },
          approval: { roles: ['admin'], ttl_minutes: 60 },
        }),
        del({ id: 'more', approval: { roles: ['lead'], ttl_minutes: 15 } }),
      ]
      expect(decide(rules, alice, 'delete', own, NOW)).toMatchObject({
        effect: 'allow',
        approval: { roles: ['admin', 'lead'], ttlMinutes: 15 },
      })
    })

    it('is not required when the gated rule does not match', () => {
      const rules = [
        del({ id: 'plain' }),
        del({ id: 'ca', conditions: { ca: true }, approval: { roles: ['admin'] } }),
      ]
      expect(decide(rules, alice, 'delete', own, NOW)).not.toHaveProperty('approval')
    })

    it('is required when a gate could apply but a fact is unknown', () => {
      const rules = [
        del({ id: 'plain' }),
        del({ id: 'ca', conditions: { ca: true }, approval: { roles: ['admin'] } }),
      ]
      const unknownCa: CertificateFacts = { ownerTeam: 'payments', hasAssociations: false }
      expect(decide(rules, alice, 'delete', unknownCa, NOW)).toMatchObject({
        effect: 'allow',
        approval: { roles: ['admin'] },
      })
    })

    it('is never attached to a denial', () => {
      const rules = [
        del({ id: 'ca', approval: { roles: ['admin'] } }),
        del({ id: 'no', effect: 'deny' }),
      ]
      expect(decide(rules, alice, 'delete', own, NOW)).not.toHaveProperty('approval')
    })
  })
})
