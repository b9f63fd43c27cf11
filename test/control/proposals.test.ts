/**
 * Proposed policy changes through the Worker (issue 20): a narrowing change applied at once and
 * served; a widening one pending, its author's approval refused, 10 concurrent approvals by a
 * second admin applying it once; a stale base, an invalid document, a non-admin and the pinned
 * mode refused; a rollback; and each step's chained audit entry with its before and after.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { coordinatedRevisions } from '../../src/coordinator/client'
import type { Proposal } from '../../src/control/proposal'
import { newEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { GATEWAY, callJson } from '../support/gateway'
import { KEYS } from '../support/identities'
import { emptyPolicyStore } from '../support/coordinator'

const managed = { POLICY_MODE: 'managed' } as Partial<Env>
const revisions = () => coordinatedRevisions(env.COORDINATOR)

beforeEach(async () => {
  await emulator.reset()
  await emptyPolicyStore()
})

interface Report {
  proposal: Proposal
  diff: { widening: string[]; access: { counts: Record<string, number> } }
}
type Doc = { members: { id: string; roles: string[]; revoked?: boolean }[] }

/** The current revision (bootstrapped by the call) and its document. */
async function current(): Promise<{ id: string; document: Doc }> {
  const { status, body } = await callJson<{ id: string; document: Doc }>(`${GATEWAY}/policy`, {
    env: managed,
  })
  expect(status).toBe(200)
  return body.result!
}

function propose(base: string, document: unknown, key: string = KEYS.admin, env = managed) {
  return callJson<Report>(`${GATEWAY}/policy/proposals`, {
    method: 'POST',
    key,
    env,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ base, document, reason: 'test' }),
  })
}

const decide = (id: string, verdict: 'approve' | 'reject', key: string) =>
  callJson<Proposal>(`${GATEWAY}/policy/proposals/${id}/${verdict}`, {
    method: 'POST',
    key,
    env: managed,
  })

const whoami = (key: string) => callJson(`${GATEWAY}/whoami`, { key, env: managed })

describe('proposals', () => {
  it('applies a narrowing change at once: the revoked member is refused at once', async () => {
    const { id: base, document } = await current()
    document.members.find((m) => m.id === 'alice')!.revoked = true
    const entries = await newEntries(async () => {
      const { status, body } = await propose(base, document)
      expect(status).toBe(200)
      expect(body.result!.proposal.status).toBe('applied')
      expect(body.result!.diff.widening).toEqual([])
      expect(body.result!.diff.access.counts.newly_denied).toBeGreaterThan(0)
    })
    expect((await whoami(KEYS.alice)).status).toBe(401)
    const after = (await revisions().current(null)).id
    const [entry] = entries.filter((e) => e.policy_change !== undefined)
    expect(entry).toMatchObject({
      member: 'admin',
      action: 'policy',
      policy_revision: base,
      policy_change: { verdict: 'propose', kind: 'apply', before: base, after },
      outcome: { class: 'allowed' },
    })
    expect(entry!.seq).toBeGreaterThan(0)
    expect(JSON.stringify(entries)).not.toContain('mtlsgw_')
  })

  it('keeps a widening change for a second admin: self-approval refused, 10 concurrent approvals apply it once', async () => {
    const { id: base, document } = await current()
    document.members.find((m) => m.id === 'alice')!.roles = ['developer', 'lead']
    const filed = await propose(base, document)
    const proposal = filed.body.result!.proposal
    expect(proposal.status).toBe('pending')
    expect(filed.body.result!.diff.widening).toContain('member alice given lead, and may delete')
    expect((await revisions().current(null)).id).toBe(base) // not applied yet

    const self = await decide(proposal.id, 'approve', KEYS.admin)
    expect([self.status, self.body.errors[0]!.code]).toEqual([403, 18354])
    const alice = await decide(proposal.id, 'approve', KEYS.alice)
    expect(alice.status).toBe(403) // not allowed `policy`

    const answers = await Promise.all(
      Array.from({ length: 10 }, () => decide(proposal.id, 'approve', KEYS.admin2)),
    )
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
    for (const refused of answers.filter((a) => a.status !== 200)) {
      expect([refused.status, refused.body.errors[0]!.code]).toEqual([409, 18353])
    }
    expect((await revisions().current(null)).id).toBe(proposal.revision.id)
    const history = await revisions().history(10, null)
    expect(history.map((h) => h.kind)).toEqual(['apply', 'bootstrap'])
    const approved = answers.find((a) => a.status === 200)!.body.result!
    expect(approved).toMatchObject({ status: 'applied', decided_by: 'admin2', author: 'admin' })
  })

  it('refuses a proposal on a stale base, an invalid document, and the pinned mode', async () => {
    const { id: base, document } = await current()
    document.members.find((m) => m.id === 'bob')!.revoked = true
    expect((await propose(base, document)).body.result!.proposal.status).toBe('applied')
    document.members.find((m) => m.id === 'carol')!.revoked = true
    const stale = await propose(base, document)
    expect([stale.status, stale.body.errors[0]!.code]).toEqual([409, 18351])

    const { id: now } = await current()
    const invalid = await propose(now, { ...document, teams: [] })
    expect(invalid.status).toBe(400)
    expect(invalid.body.errors.every((e) => e.code === 18030)).toBe(true)

    const pinned = await propose(now, document, KEYS.admin, {
      POLICY_MODE: 'pinned',
    } as Partial<Env>)
    expect([pinned.status, pinned.body.errors[0]!.code]).toEqual([409, 18350])
  })

  it('rolls back to an earlier revision as a new history entry, and records it', async () => {
    const { id: first, document } = await current()
    document.members.find((m) => m.id === 'alice')!.revoked = true
    const applied = await propose(first, document)
    const second = applied.body.result!.proposal.revision.id
    expect((await whoami(KEYS.alice)).status).toBe(401)
    const entries = await newEntries(async () => {
      const { status, body } = await callJson<Report>(`${GATEWAY}/policy/rollback`, {
        method: 'POST',
        env: managed,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: first, base: second, reason: 'undo' }),
      })
      expect(status).toBe(200)
      // Un-revoking alice widens: it waits for the second admin.
      expect(body.result!.proposal).toMatchObject({ kind: 'rollback', status: 'pending' })
      const approved = await decide(body.result!.proposal.id, 'approve', KEYS.admin2)
      expect(approved.status).toBe(200)
    })
    expect((await revisions().current(null)).id).toBe(first)
    expect((await whoami(KEYS.alice)).status).toBe(200)
    expect((await revisions().history(10, null)).map((h) => h.kind)).toEqual([
      'rollback',
      'apply',
      'bootstrap',
    ])
    const changes = entries.flatMap((e) => (e.policy_change ? [e.policy_change] : []))
    expect(changes.map((c) => [c.verdict, c.kind, c.before, c.after])).toEqual(
      expect.arrayContaining([
        ['propose', 'rollback', second, first],
        ['approve', 'rollback', second, first],
      ]),
    )
  })
})
