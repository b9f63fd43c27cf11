/**
 * Reading proposals and revisions (issue 20): the proposals listed newest first and filtered by
 * state; the structural and exhaustive access diff of any two revisions, either way round; who
 * may read them (a member the policy allows `policy`); a missing revision is 404. Pinned mode
 * lists none (as it shows no history), but a proposal filed before still opens by its id.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { Proposal } from '../../src/control/proposal'
import { GATEWAY, callJson } from '../support/gateway'
import { KEYS } from '../support/identities'
import { emptyPolicyStore } from '../support/coordinator'

const managed = { POLICY_MODE: 'managed' } as Partial<Env>

beforeEach(async () => {
  await emptyPolicyStore()
})

type Doc = { members: { id: string; roles: string[]; revoked?: boolean }[] }
interface Report {
  proposal: Proposal
}
interface Diff {
  from: string
  to: string
  summary: string
  diff: {
    structural: Record<string, unknown>
    widening: string[]
    access: { counts: Record<string, number>; differences: Record<string, unknown>[] }
  }
}

const get = <T>(path: string, key: string = KEYS.admin) =>
  callJson<T>(`${GATEWAY}${path}`, { key, env: managed })

async function current(): Promise<{ id: string; document: Doc }> {
  const { status, body } = await get<{ id: string; document: Doc }>('/policy')
  expect(status).toBe(200)
  return body.result!
}

async function propose(base: string, document: unknown): Promise<Proposal> {
  const { status, body } = await callJson<Report>(`${GATEWAY}/policy/proposals`, {
    method: 'POST',
    key: KEYS.admin,
    env: managed,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ base, document, reason: 'test' }),
  })
  expect(status).toBe(200)
  return body.result!.proposal
}

describe('reading proposals', () => {
  it('lists them newest first, by state, for members allowed `policy` only', async () => {
    const first = await current()
    first.document.members.find((m) => m.id === 'bob')!.revoked = true
    const narrowing = await propose(first.id, first.document) // applied at once
    const second = await current()
    second.document.members.find((m) => m.id === 'alice')!.roles = ['developer', 'lead']
    const widening = await propose(second.id, second.document) // pending
    expect([narrowing.status, widening.status]).toEqual(['applied', 'pending'])

    const all = await get<Proposal[]>('/policy/proposals')
    expect(all.status).toBe(200)
    expect(all.body.result!.map((p) => p.id)).toEqual([widening.id, narrowing.id])
    const applied = await get<Proposal[]>('/policy/proposals?status=applied')
    expect(applied.body.result!.map((p) => p.id)).toEqual([narrowing.id])
    const pending = await get<Proposal[]>('/policy/proposals?status=pending&limit=1')
    expect(pending.body.result!.map((p) => p.id)).toEqual([widening.id])
    expect((await get('/policy/proposals?status=open')).status).toBe(400)

    const alice = await get('/policy/proposals', KEYS.alice)
    expect(alice.status).toBe(403)
  })

  it('lists none in pinned mode, where one filed before is still read by its id', async () => {
    const first = await current()
    first.document.members.find((m) => m.id === 'alice')!.roles = ['developer', 'lead']
    const filed = await propose(first.id, first.document) // pending, filed while managed
    const pinned = { POLICY_MODE: 'pinned' } as Partial<Env>
    const read = <T>(path: string) => callJson<T>(`${GATEWAY}${path}`, { env: pinned })

    const listed = await read<Proposal[]>('/policy/proposals')
    expect([listed.status, listed.body.result]).toEqual([200, []])
    const one = await read<Proposal>(`/policy/proposals/${filed.id}`)
    expect([one.status, one.body.result?.status]).toEqual([200, 'pending'])
  })
})

describe('the diff of two revisions', () => {
  it('gives the structural and access diff either way round, and 404 for a missing one', async () => {
    const before = await current()
    before.document.members.find((m) => m.id === 'alice')!.revoked = true
    const applied = await propose(before.id, before.document)
    const after = applied.revision.id

    const forward = await get<Diff>(`/policy/revisions/${after}/diff?against=${before.id}`)
    expect(forward.status).toBe(200)
    const result = forward.body.result!
    expect([result.from, result.to]).toEqual([before.id, after])
    expect(result.summary).toBe(applied.summary)
    expect(result.diff.widening).toEqual([]) // a revocation narrows
    expect(result.diff.access.counts.newly_denied).toBeGreaterThan(0)
    expect(result.diff.access.counts.newly_allowed ?? 0).toBe(0)
    expect(JSON.stringify(result.diff.structural)).toContain('alice')

    // Back the other way: what a rollback would do, which widens (alice's access comes back).
    const backward = await get<Diff>(`/policy/revisions/${before.id}/diff?against=${after}`)
    expect(backward.body.result!.diff.access.counts.newly_allowed).toBe(
      result.diff.access.counts.newly_denied,
    )
    expect(backward.body.result!.diff.widening).not.toEqual([])

    const missing = await get(`/policy/revisions/${'0'.repeat(64)}/diff?against=${after}`)
    expect([missing.status, missing.body.errors[0]!.code]).toEqual([404, 18356])
    const malformed = await get(`/policy/revisions/latest/diff?against=${after}`)
    expect(malformed.status).toBe(400)
    const bob = await get(`/policy/revisions/${after}/diff?against=${before.id}`, KEYS.bob)
    expect(bob.status).toBe(403)
  })
})
