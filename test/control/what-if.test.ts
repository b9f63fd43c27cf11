/**
 * The what-if replay (issue 20, control/what-if.ts) on a recorded history with a known answer,
 * and `decided_on` recorded by a real request, so that what the gateway writes can be replayed.
 */
import { describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { whatIf } from '../../src/control/what-if'
import { parsePolicy, type Policy } from '../../src/policy/document'
import { newEntries } from '../support/audit'
import { certificatesUrl, call } from '../support/gateway'
import { KEYS } from '../support/identities'

const ACCOUNT = '0123456789abcdef0123456789abcdef'
const document = (changes: { aliceRevoked?: boolean; leadsDeleteCAs?: boolean }) => ({
  version: 1,
  teams: [{ id: 'payments', accounts: [ACCOUNT] }],
  members: [
    {
      id: 'alice',
      team: 'payments',
      roles: ['developer'],
      key_sha256: 'a'.repeat(64),
      revoked: changes.aliceRevoked ?? false,
    },
    { id: 'bob', team: 'payments', roles: ['lead'], key_sha256: 'b'.repeat(64) },
  ],
  rules: [
    {
      id: 'read-own',
      description: 'read own',
      effect: 'allow',
      actions: ['get', 'list'],
      subjects: { roles: ['developer', 'lead'] },
    },
    {
      id: 'leads-delete',
      description: 'leads delete own',
      effect: 'allow',
      actions: ['delete'],
      subjects: { roles: ['lead'] },
      conditions: changes.leadsDeleteCAs ? {} : { ca: false },
    },
  ],
})
const policy = (doc: unknown): Policy => {
  const parsed = parsePolicy(JSON.stringify(doc))
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
  return parsed.policy
}

const T = '2026-12-01T10:00:00.000Z'
const request = (
  id: string,
  member: string,
  action: string,
  effect: 'allow' | 'deny' | undefined,
  decidedOn?: AuditEntry['decided_on'],
): AuditEntry => ({
  kind: 'request',
  id,
  time: T,
  request_id: id,
  member,
  team: 'payments',
  action,
  ...(effect ? { decision: { effect, rule_ids: [] } } : {}),
  ...(decidedOn ? { decided_on: decidedOn } : {}),
  outcome: { class: effect === 'deny' ? 'denied' : 'allowed', error_codes: [] },
  upstream_attempts: 0,
})

const HISTORY: AuditEntry[] = [
  request('e1', 'alice', 'get', 'allow', {
    roles: ['developer'],
    owner: 'team',
    owner_team: 'payments',
    ca: false,
  }),
  request('e2', 'bob', 'delete', 'allow', {
    roles: ['lead'],
    owner: 'team',
    owner_team: 'payments',
    ca: false,
  }),
  request('e3', 'bob', 'delete', 'deny', {
    roles: ['lead'],
    owner: 'team',
    owner_team: 'payments',
    ca: true,
  }),
  request('e4', 'alice', 'list', 'allow', { roles: ['developer'] }), // the collection
  request('e5', 'alice', 'get', 'allow'), // before decided_on was recorded
  request('e6', 'alice', 'whoami', undefined), // no policy decision
]

describe('the what-if replay', () => {
  it('finds nothing changing under the policy that decided the history', () => {
    const report = whatIf(HISTORY, policy(document({})))
    expect(report).toMatchObject({ entries: 6, replayed: 4, unchanged: 4, changes: [] })
    expect(report.not_replayable).toEqual({
      before_decided_on: 1,
      no_decision: 1,
      not_a_policy_action: 0,
    })
  })

  it('gives the known answer for a proposal revoking alice and letting leads delete CAs', () => {
    const report = whatIf(HISTORY, policy(document({ aliceRevoked: true, leadsDeleteCAs: true })))
    expect(report.replayed).toBe(4)
    expect(report.unchanged).toBe(1) // e2: bob's leaf delete
    expect(report.changes).toEqual([
      { team: 'payments', action: 'delete', from: 'deny', to: 'allow', count: 1, samples: ['e3'] },
      { team: 'payments', action: 'get', from: 'allow', to: 'deny', count: 1, samples: ['e1'] },
      { team: 'payments', action: 'list', from: 'allow', to: 'deny', count: 1, samples: ['e4'] },
    ])
  })

  it('counts a recorded request the gateway wrote as replayable (decided_on is recorded)', async () => {
    const entries = await newEntries(() => call(certificatesUrl(), { key: KEYS.alice }))
    expect(entries[0]!.decided_on).toEqual({ roles: ['developer'] })
    const report = whatIf(entries, policy(document({})))
    expect(report.replayed).toBe(1)
  })
})
