/**
 * Issue 20: the what-if replay (control/what-if.ts) over 10,000 recorded requests, in workerd: the
 * entries as the gateway writes them (with `decided_on`), decided again under a proposal that
 * revokes a member and lets leads delete CAs. Prints the time and what would change; then the
 * same through the endpoint's operation (control-api): the 10,000 entries written to the audit
 * namespace as the gateway writes them, read back from their KV summaries and replayed. Run alone:
 * `npx vitest run -c bench/vitest.config.ts bench/what-if.bench.ts`.
 */
import { env } from 'cloudflare:test'
import { expect, it } from 'vitest'
import { auditLogOf } from '../src/audit/audit-log'
import type { AuditEntry } from '../src/audit/entry'
import { canonical } from '../src/audit/signing'
import { writeEntry } from '../src/audit/store'
import type { Proposal } from '../src/control/proposal'
import { proposalWhatIf, type ControlDeps } from '../src/control/propose'
import { newRevision } from '../src/control/revision'
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

// control-api: the endpoint's path, reading the window from KV's list() (summaries only).
it(`reads ${N} recorded requests from the audit log and replays them`, async () => {
  const settings = { signingKey: env.AUDIT_SIGNING_KEY, retentionDays: 365 }
  const entries = Array.from({ length: N }, (_, i) => entry(i))
  for (let i = 0; i < N; i += 100) {
    await Promise.all(entries.slice(i, i + 100).map((e) => writeEntry(env.AUDIT, e, settings)))
  }
  const document = canonical(JSON.parse(JSON.stringify(proposal)))
  const revision = await newRevision(document, {
    parent: null,
    author: 'bench',
    reason: 'bench',
    now: new Date(),
  })
  const record = { id: crypto.randomUUID(), revision } as unknown as Proposal
  const deps = {
    who: { requireAllowed: () => undefined },
    revisions: { proposal: () => Promise.resolve(record) },
    auditLog: auditLogOf(env.AUDIT, {} as never, {
      audit: { signingKey: settings.signingKey, retentionDays: 365, attestKey: {} as never },
      accounts: [],
    }),
  } as unknown as ControlDeps & { auditLog: ReturnType<typeof auditLogOf> }
  const started = performance.now()
  const outcome = await proposalWhatIf(deps, { id: record.id }, new Date(now + 1000))
  const ms = performance.now() - started
  if (!outcome.ok) throw new Error('the replay was refused')
  const report = outcome.value
  console.log(
    `what-if through the audit log (list() of the summaries, then the replay) over ${report.entries} entries: ${ms.toFixed(0)} ms; ` +
      `replayed ${report.replayed}, ${report.changes.reduce((n, c) => n + c.count, 0)} would change`,
  )
  expect(report.entries).toBeGreaterThanOrEqual(N)
  expect(report.complete).toBe(true)
})
