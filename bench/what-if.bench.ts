/**
 * Issue 20: the what-if replay (control/what-if.ts) over 10,000 recorded requests, in workerd: the
 * entries as the gateway writes them (with `decided_on`), decided again under a proposal that
 * revokes a member and lets leads delete CAs. Prints the time and what would change. Run alone:
 * `npx vitest run -c bench/vitest.config.ts bench/what-if.bench.ts`.
 */
import { expect, it } from 'vitest'
import type { AuditEntry } from '../src/audit/entry'
import { whatIf } from '../src/control/what-if'
import { parsePolicy } from '../src/policy/document'
import { MEMBERS, RULES, TEAMS } from '../test/support/identities'

const N = 10_000
const DAY = 86_400_000
const now = Date.now()

const proposal = (() => {
  const members = MEMBERS.map(({ key: _key, ...m }, i) => ({
    ...m,
    key_sha256: i.toString(16).padStart(64, '0'),
    ...(m.id === 'alice' ? { revoked: true } : {}),
  }))
  const rules = RULES.map((r) =>
    r.id === 'ca-delete-needs-admin' ? { ...r, approval: undefined } : r,
  )
  const parsed = parsePolicy(JSON.stringify({ version: 1, teams: TEAMS, members, rules }))
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
  return parsed.policy
})()

function entry(i: number): AuditEntry {
  const member = MEMBERS[i % 5]! // alice, bob, carol, dave, admin
  const time = new Date(now - Math.floor((i * 30 * DAY) / N)).toISOString()
  const action = ['list', 'get', 'associations', 'upload', 'delete'][i % 5]!
  const id = `bench-${i}`
  return {
    kind: 'request',
    id,
    time,
    request_id: id,
    member: member.id,
    team: member.team,
    via: 'key',
    action,
    decision: { effect: i % 3 === 0 ? 'deny' : 'allow', rule_ids: [] },
    decided_on: {
      roles: member.roles,
      ...(action === 'list'
        ? {}
        : {
            owner: 'team' as const,
            owner_team: ['payments', 'identity'][i % 2]!,
            ca: i % 4 === 0,
          }),
    },
    outcome: { class: 'allowed', error_codes: [] },
    upstream_attempts: 1,
  }
}

it(`replays ${N} recorded requests under a proposal`, () => {
  const entries = Array.from({ length: N }, (_, i) => entry(i))
  const started = performance.now()
  const report = whatIf(entries, proposal)
  const ms = performance.now() - started
  console.log(
    `what-if over ${report.entries} entries: ${ms.toFixed(1)} ms; replayed ${report.replayed}, ` +
      `${report.changes.reduce((n, c) => n + c.count, 0)} would change in ${report.changes.length} (team, action) groups`,
  )
  expect(report.replayed).toBe(N)
})
