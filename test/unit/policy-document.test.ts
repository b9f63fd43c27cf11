import { describe, expect, it } from 'vitest'
import { parsePolicy } from '../../src/policy/document'
import demoPolicy from '../../demo/policy.json'

const hash = (c: string) => c.repeat(64)
const valid = () => ({
  version: 1,
  teams: [{ id: 'payments', accounts: ['0123456789abcdef0123456789abcdef'] }],
  members: [{ id: 'alice', team: 'payments', roles: ['developer'], key_sha256: hash('a') }],
})

function problems(doc: unknown) {
  const result = parsePolicy(JSON.stringify(doc))
  return result.ok ? [] : result.problems
}

describe('parsePolicy', () => {
  it('accepts a minimal policy and fills the defaults', () => {
    const result = parsePolicy(JSON.stringify(valid()))
    expect(result).toMatchObject({
      ok: true,
      policy: { demo: false, rules: [], members: [{ revoked: false }] },
    })
  })

  it('sets each member 120 requests a minute unless `limits` says otherwise, and checks it', () => {
    const result = parsePolicy(JSON.stringify(valid()))
    expect(result).toMatchObject({
      ok: true,
      policy: { limits: { member_requests_per_minute: 120 } },
    })
    const set = parsePolicy(
      JSON.stringify({ ...valid(), limits: { member_requests_per_minute: 30 } }),
    )
    expect(set).toMatchObject({ ok: true, policy: { limits: { member_requests_per_minute: 30 } } })
    for (const bad of [0, 1.5, '120', 100_001]) {
      expect(
        problems({ ...valid(), limits: { member_requests_per_minute: bad } }),
        String(bad),
      ).toMatchObject([{ pointer: '/limits/member_requests_per_minute' }])
    }
    expect(problems({ ...valid(), limits: { member_requests: 5 } })).toMatchObject([
      { pointer: expect.stringMatching(/^\/limits/) as unknown },
    ])
  })

  it('accepts the demo policy shipped with the project', () => {
    expect(parsePolicy(JSON.stringify(demoPolicy)).ok).toBe(true)
  })

  it('accepts members identified by Access only, or by a key and Access together', () => {
    const doc = {
      ...valid(),
      members: [
        { id: 'dana', team: 'payments', roles: ['developer'], access_email: 'dana@example.com' },
        { id: 'ci', team: 'payments', roles: ['developer'], access_common_name: 'abc.access' },
        { ...valid().members[0], access_email: 'alice@example.com' },
      ],
    }
    expect(problems(doc)).toEqual([])
  })

  it('refuses text that is not JSON', () => {
    expect(parsePolicy('{ nope')).toMatchObject({ ok: false, problems: [{ pointer: '' }] })
  })

  it.each([
    ['an unknown version', { ...valid(), version: 2 }, '/version'],
    ['an unknown top-level field', { ...valid(), admins: [] }, '/admins'],
    [
      'a bad account id',
      { ...valid(), teams: [{ id: 'payments', accounts: ['XYZ'] }] },
      '/teams/0/accounts/0',
    ],
    [
      'a member of an unknown team',
      { ...valid(), members: [{ ...valid().members[0], team: 'ghosts' }] },
      '/members/0/team',
    ],
    [
      'a key hash that is not hex SHA-256',
      { ...valid(), members: [{ ...valid().members[0], key_sha256: 'abc' }] },
      '/members/0/key_sha256',
    ],
    [
      'a member without any identity (key or Access)',
      { ...valid(), members: [{ id: 'alice', team: 'payments', roles: ['x'] }] },
      '/members/0',
    ],
    [
      'an Access email that is not an email',
      { ...valid(), members: [{ ...valid().members[0], access_email: 'alice' }] },
      '/members/0/access_email',
    ],
    [
      'an Access common name with a space',
      { ...valid(), members: [{ ...valid().members[0], access_common_name: 'a b.access' }] },
      '/members/0/access_common_name',
    ],
    [
      'two members sharing an Access email, whatever its case',
      {
        ...valid(),
        members: [
          { id: 'alice', team: 'payments', roles: ['x'], access_email: 'alice@example.com' },
          { id: 'bob', team: 'payments', roles: ['x'], access_email: 'Alice@Example.COM' },
        ],
      },
      '/members/1/access_email',
    ],
    [
      'two members sharing an Access common name',
      {
        ...valid(),
        members: [
          { id: 'ci', team: 'payments', roles: ['x'], access_common_name: 'abc.access' },
          { ...valid().members[0], access_common_name: 'abc.access' },
        ],
      },
      '/members/1/access_common_name',
    ],
    [
      'a member without roles',
      { ...valid(), members: [{ ...valid().members[0], roles: [] }] },
      '/members/0/roles',
    ],
    [
      'a bad expiry',
      { ...valid(), members: [{ ...valid().members[0], expires_at: 'soon' }] },
      '/members/0/expires_at',
    ],
    [
      'two members sharing a key',
      { ...valid(), members: [valid().members[0], { ...valid().members[0], id: 'bob' }] },
      '/members/1/key_sha256',
    ],
    [
      'two members with one id',
      {
        ...valid(),
        members: [valid().members[0], { ...valid().members[0], key_sha256: hash('b') }],
      },
      '/members/1/id',
    ],
    [
      'two teams with one id',
      { ...valid(), teams: [valid().teams[0], valid().teams[0]] },
      '/teams/1/id',
    ],
  ])('refuses %s and names the path', (_, doc, pointer) => {
    expect(problems(doc).map((p) => p.pointer)).toContain(pointer)
  })
})
