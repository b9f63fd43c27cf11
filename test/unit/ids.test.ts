/**
 * lib/ids.ts: which ids the gateway accepts, and that every place that checks one still says the
 * same thing about a bad one (the message and pointer a caller or an operator reads).
 */
import type { z } from '@hono/zod-openapi'
import { describe, expect, it } from 'vitest'
import { auditQuery } from '../../src/audit/routes'
import { listQuery } from '../../src/certificates/schemas'
import { certificateParams } from '../../src/lib/ids'
import { explainRoute } from '../../src/policy/routes'
import * as ids from '../../src/lib/ids'
import { booleanFlag } from '../../src/lib/query'
import { problemsOf } from '../../src/lib/zod-issues'
import { parsePolicy } from '../../src/policy/document'

const UUIDV4 = '2458ce5a-0c35-4c7f-82c7-8e9487d3ff60'
const UUIDV7 = '01a233be-14f1-7ebd-98de-25c517cdfc6f'
const HEX32 = '023e105f4ecef8ad9ca31a8372d0c353'

/** Inputs no id accepts: wrong case, wrong length, path tricks, stray whitespace. */
const NEVER = [
  '',
  ' ',
  HEX32.toUpperCase(),
  UUIDV4.toUpperCase(),
  `${HEX32}\n`,
  ` ${HEX32}`,
  `${UUIDV4}/associations`,
  '../..',
  '%2e%2e',
  `{${UUIDV4}}`,
]

const accepts = (schema: z.ZodType, value: string) => schema.safeParse(value).success

describe.each([
  [
    'account id',
    ids.accountId(),
    ['0123456789abcdef0123456789abcdef', HEX32, 'f'.repeat(32)],
    [HEX32.slice(1), HEX32 + '0', 'g'.repeat(32), UUIDV4, UUIDV4.replaceAll('-', '') + '0'],
  ],
  [
    'certificate id',
    ids.certificateId(),
    [UUIDV4, UUIDV7, HEX32, '00000000-0000-0000-0000-000000000000', UUIDV4.replace('4c7f', '0c7f')],
    [
      HEX32.slice(1),
      HEX32 + '0',
      UUIDV4.slice(1),
      UUIDV4.replace('-', ''),
      `${UUIDV4.slice(0, 35)}g`,
      'x',
    ],
  ],
  [
    'request id',
    ids.requestId(),
    [UUIDV7, UUIDV4, '00000000-0000-0000-0000-000000000000'],
    [HEX32, UUIDV7.slice(1), `${UUIDV7}0`, 'abc', UUIDV7.replaceAll('-', '_')],
  ],
  [
    'slug',
    ids.slug(),
    ['a', '0', '9-lives', 'a.b_c-d', 'payments', 'a'.repeat(63)],
    ['a'.repeat(64), '-a', '.a', '_a', 'Payments', 'a b', 'a/b', 'café', 'a:b'],
  ],
])('%s', (_, schema, good, bad) => {
  it.each(good)('accepts %j', (value) => expect(accepts(schema, value)).toBe(true))
  it.each([...bad, ...NEVER])('refuses %j', (value) => expect(accepts(schema, value)).toBe(false))
})

describe('booleanFlag', () => {
  it('reads true and false, and nothing else', () => {
    const flag = booleanFlag('ca')
    expect(flag.parse('true')).toBe(true)
    expect(flag.parse('false')).toBe(false)
    for (const value of ['True', 'FALSE', '1', '0', '', 'yes']) {
      expect(flag.safeParse(value).success).toBe(false)
    }
  })
})

/** The (pointer, message) pairs a schema reports for `value`. */
function problems(schema: z.ZodType, value: unknown) {
  const result = schema.safeParse(value)
  if (result.success) return []
  return problemsOf(result.error).map(({ pointer, message }) => ({ pointer, message }))
}

describe('the messages each caller reads', () => {
  const LONG_SLUG = 'must be 1-63 lowercase letters, digits, ".", "_" or "-"'
  const SHORT_SLUG = 'must be a lowercase slug'

  it('policy document: team, member and rule ids spell the rule out, rule subjects are short', () => {
    const result = parsePolicy(
      JSON.stringify({
        version: 1,
        teams: [{ id: 'Payments', accounts: ['0123'] }],
        members: [{ id: 'al ice', team: 'payments', roles: ['Dev'], key_sha256: 'a'.repeat(64) }],
        rules: [
          {
            id: '-r1',
            description: 'why',
            effect: 'allow',
            actions: ['get'],
            subjects: { teams: ['Payments'] },
            approval: { roles: ['Lead'] },
          },
        ],
      }),
    )
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.problems).toEqual(
      expect.arrayContaining([
        { pointer: '/teams/0/id', message: LONG_SLUG },
        { pointer: '/teams/0/accounts/0', message: 'must be 32 lowercase hexadecimal characters' },
        { pointer: '/members/0/id', message: LONG_SLUG },
        { pointer: '/members/0/roles/0', message: LONG_SLUG },
        { pointer: '/rules/0/id', message: LONG_SLUG },
        { pointer: '/rules/0/subjects/teams/0', message: SHORT_SLUG },
        { pointer: '/rules/0/approval/roles/0', message: SHORT_SLUG },
      ]),
    )
  })

  it('path parameters name the parameter', () => {
    expect(problems(certificateParams, { account_id: 'x', mtls_certificate_id: 'y' })).toEqual([
      { pointer: '/account_id', message: 'account_id must be 32 lowercase hexadecimal characters' },
      {
        pointer: '/mtls_certificate_id',
        message:
          'mtls_certificate_id must be a lowercase UUID or 32 lowercase hexadecimal characters',
      },
    ])
  })

  it('audit filters', () => {
    expect(
      problems(auditQuery, { team: 'A', member: 'B', certificate: 'c', request_id: HEX32 }),
    ).toEqual([
      { pointer: '/team', message: SHORT_SLUG },
      { pointer: '/member', message: SHORT_SLUG },
      {
        pointer: '/certificate',
        message: 'must be a lowercase UUID or 32 lowercase hexadecimal characters',
      },
      { pointer: '/request_id', message: 'must be a request id' },
    ])
  })

  it('the ca flag, in the list query and in explain', () => {
    const explainQuery = explainRoute.request.query
    expect(problems(listQuery, { ca: 'yes' })).toEqual([
      { pointer: '/ca', message: 'ca must be true or false' },
    ])
    expect(problems(explainQuery, { action: 'get', account_id: HEX32, ca: 'yes' })).toEqual([
      { pointer: '/ca', message: 'ca must be true or false' },
    ])
    expect(explainQuery.parse({ action: 'get', account_id: HEX32, ca: 'false' })).toEqual({
      action: 'get',
      account_id: HEX32,
      ca: false,
    })
  })
})
