/** The rules part of the policy document: every mistake is refused with the path to it. */
import { describe, expect, it } from 'vitest'
import { parsePolicy } from '../../src/policy/document'

const valid = () => ({
  version: 1,
  teams: [{ id: 'payments', accounts: ['0123456789abcdef0123456789abcdef'] }],
  members: [{ id: 'alice', team: 'payments', roles: ['developer'], key_sha256: 'a'.repeat(64) }],
})
const rule = () => ({ id: 'r1', description: 'why', effect: 'allow', actions: ['get'] })

function pointers(doc: unknown) {
  const result = parsePolicy(JSON.stringify(doc))
  return result.ok ? [] : result.problems.map((p) => p.pointer)
}

describe('policy rules', () => {
  it('accepts a rule with every optional part and fills the defaults', () => {
    const result = parsePolicy(
      JSON.stringify({
        ...valid(),
        rules: [
          {
            ...rule(),
            actions: ['delete'],
            subjects: { teams: ['payments'], roles: ['developer'], members: ['alice'] },
            conditions: {
              owner: 'any',
              ca: true,
              has_associations: false,
              expires_within_days: 30,
            },
            mode: 'shadow',
            approval: { roles: ['developer'] },
          },
          { ...rule(), id: 'r2' },
        ],
      }),
    )
    expect(result).toMatchObject({
      ok: true,
      policy: {
        rules: [
          { approval: { ttl_minutes: 60 } },
          { mode: 'enforce', subjects: {}, conditions: {} },
        ],
      },
    })
  })

  it.each([
    ['no description', { ...rule(), description: undefined }, '/rules/0/description'],
    ['an unknown action', { ...rule(), actions: ['rename'] }, '/rules/0/actions/0'],
    ['no action', { ...rule(), actions: [] }, '/rules/0/actions'],
    ['an unknown effect', { ...rule(), effect: 'maybe' }, '/rules/0/effect'],
    ['an unknown mode', { ...rule(), mode: 'audit' }, '/rules/0/mode'],
    [
      'an unknown team',
      { ...rule(), subjects: { teams: ['ghosts'] } },
      '/rules/0/subjects/teams/0',
    ],
    [
      'a role nobody holds',
      { ...rule(), subjects: { roles: ['contracter'] } },
      '/rules/0/subjects/roles/0',
    ],
    [
      'an unknown member',
      { ...rule(), subjects: { members: ['mallory'] } },
      '/rules/0/subjects/members/0',
    ],
    [
      'an unknown subject kind',
      { ...rule(), subjects: { groups: ['x'] } },
      '/rules/0/subjects/groups',
    ],
    [
      'an unknown condition',
      { ...rule(), conditions: { colour: 'red' } },
      '/rules/0/conditions/colour',
    ],
    [
      'an unknown owner scope',
      { ...rule(), conditions: { owner: 'mine' } },
      '/rules/0/conditions/owner',
    ],
    [
      'a negative expiry window',
      { ...rule(), conditions: { expires_within_days: -1 } },
      '/rules/0/conditions/expires_within_days',
    ],
    [
      'an approval nobody can give',
      { ...rule(), actions: ['delete'], approval: { roles: ['approver'] } },
      '/rules/0/approval/roles/0',
    ],
    [
      'an approval on something other than delete',
      { ...rule(), actions: ['upload'], approval: { roles: ['developer'] } },
      '/rules/0/actions',
    ],
    [
      'an approval on a deny rule',
      { ...rule(), effect: 'deny', actions: ['delete'], approval: { roles: ['developer'] } },
      '/rules/0/approval',
    ],
  ])('refuses a rule with %s', (_, bad, pointer) => {
    expect(pointers({ ...valid(), rules: [bad] })).toContain(pointer)
  })

  it('refuses two rules with one id', () => {
    expect(pointers({ ...valid(), rules: [rule(), rule()] })).toContain('/rules/1/id')
  })
})
