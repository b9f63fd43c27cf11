/**
 * The what-if replay over the audit log (issue 20): a recorded history with a known answer,
 * written as the gateway writes entries (signed, with their KV summary), replayed through
 * `GET /gateway/v1/policy/proposals/{id}/what-if` under a proposal that revokes alice: every
 * allowed request of hers in the window would be denied, bob's are unchanged, entries without
 * `decided_on` are counted as not replayable, the window (default 30 days, or `since`) is kept;
 * only members allowed `policy` may ask; an unknown proposal is 404. And `decided_on` survives the
 * KV summary (what the replay reads).
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { expand, summarize, type AuditEntry } from '../../src/audit/entry'
import { writeEntry } from '../../src/audit/store'
import type { Proposal } from '../../src/control/proposal'
import type { ProposalWhatIf } from '../../src/control/propose'
import { GATEWAY, callJson } from '../support/gateway'
import { AUDIT_SIGNING_KEY, KEYS } from '../support/identities'
import { emptyPolicyStore } from '../support/coordinator'

const managed = { POLICY_MODE: 'managed' } as Partial<Env>
const HOUR = 3_600_000
const DAY = 24 * HOUR

beforeEach(async () => {
  await emptyPolicyStore()
})

let counter = 0
function recorded(
  member: 'alice' | 'bob',
  action: string,
  ageMs: number,
  decidedOn: AuditEntry['decided_on'] | null,
): AuditEntry {
  const id = `what-if-${member}-${counter++}-${crypto.randomUUID()}`
  return {
    kind: 'request',
    id,
    time: new Date(Date.now() - ageMs).toISOString(),
    request_id: id,
    member,
    team: 'payments',
    via: 'key',
    action,
    decision: { effect: 'allow', rule_ids: ['developers-read-own'] },
    outcome: { class: 'allowed', status: 200, error_codes: [] },
    upstream_attempts: 1,
    ...(decidedOn === null ? {} : { decided_on: decidedOn }),
  }
}

describe('the what-if replay over the audit log', () => {
  it('gives the known answer for a recorded history, per team and action', async () => {
    const own = { roles: ['developer'], owner: 'team' as const, owner_team: 'payments', ca: false }
    const history: AuditEntry[] = [
      ...Array.from({ length: 12 }, (_, i) =>
        recorded('alice', 'list', (i + 1) * HOUR, { roles: ['developer'] }),
      ),
      ...Array.from({ length: 3 }, (_, i) => recorded('alice', 'get', (i + 1) * DAY, own)),
      ...Array.from({ length: 4 }, (_, i) =>
        recorded('bob', 'get', (i + 1) * HOUR, { ...own, roles: ['lead'] }),
      ),
      recorded('alice', 'list', 2 * HOUR, null), // written before decided_on was recorded
      recorded('alice', 'list', 3 * HOUR, null),
      recorded('alice', 'list', 40 * DAY, { roles: ['developer'] }), // outside the default window
    ]
    const settings = { signingKey: AUDIT_SIGNING_KEY, retentionDays: 365 }
    for (const entry of history) await writeEntry(env.AUDIT, entry, settings)

    const current = await callJson<{ id: string; document: Record<string, unknown> }>(
      `${GATEWAY}/policy`,
      { env: managed },
    )
    const document = current.body.result!.document as { members: { id: string }[] }
    const members = document.members.map((m) => (m.id === 'alice' ? { ...m, revoked: true } : m))
    const filed = await callJson<{ proposal: Proposal }>(`${GATEWAY}/policy/proposals`, {
      method: 'POST',
      key: KEYS.admin,
      env: managed,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        base: current.body.result!.id,
        document: { ...document, members },
        reason: 'alice leaves',
      }),
    })
    expect(filed.status).toBe(200)
    const id = filed.body.result!.proposal.id

    const replay = await callJson<ProposalWhatIf>(`${GATEWAY}/policy/proposals/${id}/what-if`, {
      env: managed,
    })
    expect(replay.status).toBe(200)
    const result = replay.body.result!
    expect(result.complete).toBe(true)
    const mine = (change: { team: string }) => change.team === 'payments'
    expect(result.changes.filter(mine)).toEqual([
      expect.objectContaining({
        team: 'payments',
        action: 'list',
        from: 'allow',
        to: 'deny',
        count: 12,
      }),
      expect.objectContaining({
        team: 'payments',
        action: 'get',
        from: 'allow',
        to: 'deny',
        count: 3,
      }),
    ])
    const [list] = result.changes
    expect(list!.samples).toHaveLength(5)
    const aliceIds = new Set(history.filter((e) => e.member === 'alice').map((e) => e.request_id))
    for (const sample of list!.samples) expect(aliceIds.has(sample)).toBe(true)
    expect(result.not_replayable.before_decided_on).toBe(2)
    expect(Date.parse(result.since)).toBeLessThan(Date.now() - 29 * DAY)

    // A wider window takes in the entry of 40 days ago.
    const since = new Date(Date.now() - 50 * DAY).toISOString()
    const wider = await callJson<ProposalWhatIf>(
      `${GATEWAY}/policy/proposals/${id}/what-if?since=${since}`,
      { env: managed },
    )
    expect(wider.body.result!.changes.find((c) => c.action === 'list')!.count).toBe(13)

    const alice = await callJson(`${GATEWAY}/policy/proposals/${id}/what-if`, {
      key: KEYS.bob,
      env: managed,
    })
    expect(alice.status).toBe(403)
    const missing = await callJson(`${GATEWAY}/policy/proposals/${crypto.randomUUID()}/what-if`, {
      env: managed,
    })
    expect(missing.status).toBe(404)
  })

  it('reads decided_on from the KV summary, whole', () => {
    const entry = recorded('bob', 'delete', 0, {
      roles: ['lead', 'developer'],
      owner: 'team',
      owner_team: 'payments',
      ca: true,
      has_associations: false,
      expires_on: '2027-01-01T00:00:00Z',
    })
    expect(expand(summarize(entry)).decided_on).toEqual(entry.decided_on)
    const unowned = recorded('bob', 'get', 0, { roles: ['lead'], owner: 'unowned' })
    expect(expand(summarize(unowned)).decided_on).toEqual(unowned.decided_on)
    const collection = recorded('bob', 'list', 0, { roles: [] })
    expect(expand(summarize(collection)).decided_on).toEqual({ roles: [] })
  })
})
