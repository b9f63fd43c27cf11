/**
 * Approvals exactly once, on the coordinator: however many members approve one parked delete at
 * once, one DELETE reaches the upstream and one approval answers 200; the record says what
 * happened; a failed delete is never run again; and without a coordinator nothing is parked,
 * approved or forwarded.
 */
import { env, runInDurableObject } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Approval } from '../../src/approvals/store'
import type { AuditEntry } from '../../src/audit/entry'
import { opened } from '../../src/coordinator/index'
import { appliedId } from '../../src/coordinator/schema'
import { fakeClock } from '../kit/clock'
import { auditEntries } from '../support/audit'
import {
  claimsFailCoordinator,
  storedApprovals,
  unreachableCoordinator,
} from '../support/coordinator'
import { emulator } from '../support/emulator'
import { GATEWAY, callJson, certificateUrl, uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS, RULES } from '../support/identities'
import { policyWith } from '../support/policies'

beforeEach(async () => {
  await emulator.reset()
})

const deletes = async () => (await emulator.requests()).filter((r) => r.method === 'DELETE')
const approvalUrl = (id: string) => `${GATEWAY}/approvals/${id}`
const approveUrl = (id: string) => `${approvalUrl(id)}/approve`

interface Record {
  status: string
  approved_by?: string
  closed_at?: string
  outcome?: string
}

/** A payments CA certificate and bob's delete of it, parked: its approval id. */
async function parkedDelete(env?: Partial<Env>): Promise<{ id: string; approvalId: string }> {
  const id = await uploadedId({ ca: true }, { key: KEYS.alice })
  const { status, body } = await callJson(certificateUrl(id), {
    method: 'DELETE',
    key: KEYS.bob,
    headers: { prefer: 'respond-async' },
    ...(env ? { env } : {}),
  })
  expect(status).toBe(202)
  return { id, approvalId: (body as unknown as { approval: { id: string } }).approval.id }
}

const readApproval = async (approvalId: string) =>
  (await callJson<Record>(approvalUrl(approvalId), { key: KEYS.bob })).body.result

describe.each([10, 50])('%i concurrent approvals of one parked delete', (n) => {
  it('send one DELETE upstream: one 200, the rest 409/18308 not to be retried; the record executed', async () => {
    const { id, approvalId } = await parkedDelete()
    const before = (await emulator.requests()).length
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        callJson(approveUrl(approvalId), {
          method: 'POST',
          key: i % 2 === 0 ? KEYS.admin : KEYS.admin2,
        }),
      ),
    )
    const statuses = answers.map((a) => a.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    const refused = answers.filter((a) => a.status !== 200)
    expect(refused).toHaveLength(n - 1)
    for (const answer of refused) {
      expect([answer.status, answer.body.errors[0]!.code]).toEqual([409, 18308])
      expect(answer.response.headers.get('x-should-retry')).toBe('false')
    }
    expect(await deletes()).toHaveLength(1)
    // The losers were refused at the claim, before any upstream call: the whole race cost the
    // token what one approval costs (its associations, and the DELETE).
    const during = (await emulator.requests()).slice(before)
    expect(during.map((r) => r.method)).toEqual(['GET', 'DELETE'])

    const winner = answers.find((a) => a.status === 200)!
    const approver = winner.response.headers.get('x-request-id')
    const record = await readApproval(approvalId)
    expect(record).toMatchObject({ status: 'executed', requested_by: 'bob' })
    expect(record.closed_at).toBeDefined()
    expect((await callJson(certificateUrl(id), { key: KEYS.alice })).status).toBe(404)

    // One entry per approval; only the one that ran names an approver and a 200, and is recorded
    // as the delete it ran; the refused ones stay approvals that nobody approved.
    const entries = (await auditEntries()).filter(
      (e: AuditEntry) => e.approval?.id === approvalId && e.member !== 'bob',
    )
    expect(entries).toHaveLength(n)
    const ran = entries.filter((e) => e.outcome.status === 200)
    expect(ran).toHaveLength(1)
    expect(ran[0]).toMatchObject({
      id: approver,
      action: 'delete',
      certificate_id: id,
      outcome: { class: 'allowed', error_codes: [] },
      approval: { id: approvalId, requested_by: 'bob', approved_by: record.approved_by },
    })
    for (const entry of entries.filter((e) => e !== ran[0])) {
      expect(entry.action).toBe('approve')
      expect(entry.approval?.approved_by).toBeUndefined()
      expect(entry.outcome).toMatchObject({ status: 409, error_codes: [18308] })
    }
  })
})

describe('an approval whose delete fails upstream', () => {
  it('ends failed with the outcome, and cannot be approved into a second delete', async () => {
    const { id, approvalId } = await parkedDelete()
    await emulator.addFaults({ kind: 'status', status: 500, times: 1, match: { method: 'DELETE' } })
    const first = await callJson(approveUrl(approvalId), { method: 'POST', key: KEYS.admin })
    expect(first.status).toBe(502)
    expect(await deletes()).toHaveLength(1)
    const record = await readApproval(approvalId)
    expect(record).toMatchObject({ status: 'failed', approved_by: 'admin' })
    expect(record.outcome).toMatch(/18506/)

    const again = await callJson(approveUrl(approvalId), { method: 'POST', key: KEYS.admin2 })
    expect([again.status, again.body.errors[0]!.code]).toEqual([409, 18308])
    expect(again.response.headers.get('x-should-retry')).toBe('false')
    expect(await deletes()).toHaveLength(1)
    // Still there: the delete failed, and only a new request may try again.
    expect((await callJson(certificateUrl(id), { key: KEYS.alice })).status).toBe(200)
  })
})

describe('expiry', () => {
  it('reads as expired once past its expiry, answers 410 and deletes nothing', async () => {
    const shortLived = RULES.map((rule) =>
      rule.id === 'ca-delete-needs-admin'
        ? { ...rule, approval: { roles: ['admin'], ttl_minutes: 1 } }
        : rule,
    )
    const env = { POLICY: await policyWith(shortLived) }
    const { approvalId } = await parkedDelete(env)
    const clock = fakeClock()
    clock.advance(61_000)
    try {
      const late = await callJson(approveUrl(approvalId), {
        method: 'POST',
        key: KEYS.admin,
        env,
      })
      expect([late.status, late.body.errors[0]!.code]).toEqual([410, 18307])
      const record = await callJson<Record>(approvalUrl(approvalId), { key: KEYS.bob, env })
      expect(record.body.result.status).toBe('expired')
    } finally {
      clock.restore()
    }
    expect(await deletes()).toEqual([])
  })
})

describe('the coordinator unreachable', () => {
  const down = { COORDINATOR: unreachableCoordinator }

  it('refuses to park a delete: 503/18507, nothing stored, nothing forwarded', async () => {
    const id = await uploadedId({ ca: true }, { key: KEYS.alice })
    const before = (await storedApprovals()).length
    const { status, body, response } = await callJson(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
      env: down,
    })
    expect([status, body.errors[0]!.code]).toEqual([503, 18507])
    expect(response.headers.get('x-should-retry')).not.toBe('true')
    expect(await storedApprovals()).toHaveLength(before)
    expect(await deletes()).toEqual([])
  })

  it('refuses to approve or read an approval, and the approval stays pending', async () => {
    const { approvalId } = await parkedDelete()
    const approve = await callJson(approveUrl(approvalId), {
      method: 'POST',
      key: KEYS.admin,
      env: down,
    })
    expect([approve.status, approve.body.errors[0]!.code]).toEqual([503, 18507])
    const read = await callJson(approvalUrl(approvalId), { key: KEYS.bob, env: down })
    expect([read.status, read.body.errors[0]!.code]).toEqual([503, 18507])
    expect(await deletes()).toEqual([])
    expect((await readApproval(approvalId)).status).toBe('pending')
  })

  it('refuses an approval whose claim is lost, before anything is forwarded', async () => {
    const { approvalId } = await parkedDelete()
    const approve = await callJson(approveUrl(approvalId), {
      method: 'POST',
      key: KEYS.admin,
      env: { COORDINATOR: claimsFailCoordinator },
    })
    expect([approve.status, approve.body.errors[0]!.code]).toEqual([503, 18507])
    expect(await deletes()).toEqual([])
  })

  it('is a misconfiguration when the binding is missing: 503/18501', async () => {
    const { status, body } = await callJson(`${GATEWAY}/whoami`, {
      env: { COORDINATOR: undefined } as unknown as Partial<Env>,
    })
    expect([status, body.errors[0]!.code]).toEqual([503, 18501])
  })
})

describe('approval ids', () => {
  it('are UUIDs routed to their account, and an id of no account costs no round trip', async () => {
    const { approvalId } = await parkedDelete()
    expect(approvalId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    )
    expect((await storedApprovals()).map((a) => a.id)).toContain(approvalId)
    // Even with the coordinator down, an id that routes to no account is simply unknown.
    const foreign = `ffffffff${approvalId.slice(8)}`
    const unknown = await callJson(approvalUrl(foreign), {
      key: KEYS.admin,
      env: { COORDINATOR: unreachableCoordinator },
    })
    expect([unknown.status, unknown.body.errors[0]!.code]).toEqual([404, 18304])
  })
})

describe('the coordinator\u2019s transitions', () => {
  const parked = (id: string): Approval => ({
    id,
    account_id: ACCOUNT,
    certificate_id: crypto.randomUUID(),
    requested_by: 'bob',
    requested_team: 'payments',
    request_id: crypto.randomUUID(),
    roles: ['admin'],
    rule_ids: ['ca-delete-needs-admin'],
    certificate: { owner_team: 'payments', ca: true },
    created_at: new Date().toISOString(),
    expires_at: new Date(Date.now() + 60_000).toISOString(),
    status: 'pending',
  })

  it('lets only the claimant put a claimed approval back to pending', async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT))
    const id = crypto.randomUUID()
    const now = Date.now()
    await stub.parkApproval(parked(id), now)
    expect((await stub.claimApproval(id, 'admin', now)).claimed).toBe(true)
    expect((await stub.releaseApproval(id, 'admin2', now))?.status).toBe('executing')
    expect((await stub.releaseApproval(id, 'admin', now))?.status).toBe('pending')
    expect((await stub.claimApproval(id, 'admin2', now)).claimed).toBe(true)
  })

  it('lists pending approvals oldest first, a page at a time, only those naming the asker', async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName('list-' + crypto.randomUUID()))
    const now = Date.now()
    const at = (ms: number, extra: Partial<Approval> = {}): Approval => ({
      ...parked(crypto.randomUUID()),
      created_at: new Date(now - ms).toISOString(),
      ...extra,
    })
    const oldest = at(50_000)
    const others = [at(40_000), at(30_000), at(20_000)]
    const notAdmins = at(35_000, { roles: ['security'] })
    const lapsed = at(45_000, { expires_at: new Date(now - 1).toISOString() })
    for (const a of [...others, notAdmins, oldest, lapsed]) await stub.parkApproval(a, now)
    const concerning = { member: 'admin', roles: ['admin'] }

    const first = await stub.pendingApprovals({ after: null, limit: 2, concerning }, now)
    expect(first.approvals.map((a) => a.id)).toEqual([oldest.id, others[0]!.id])
    const second = await stub.pendingApprovals({ after: first.next, limit: 2, concerning }, now)
    expect(second.approvals.map((a) => a.id)).toEqual([others[1]!.id, others[2]!.id])
    const last = await stub.pendingApprovals({ after: second.next, limit: 2, concerning }, now)
    expect(last).toEqual({ approvals: [], next: null })
    // The requester is concerned by every one of his, whatever its roles; expired ones are gone.
    const bob = await stub.pendingApprovals(
      { after: null, limit: 10, concerning: { member: 'bob', roles: ['lead'] } },
      now,
    )
    expect(bob.approvals.map((a) => a.id)).toEqual([
      oldest.id,
      ...[others[0], notAdmins, others[1], others[2]].map((a) => a!.id),
    ])
    expect(bob.next).toBeNull()
  })

  it('gives a table made before created_ms the column, filled from each record (migration 2)', async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName('old-' + crypto.randomUUID()))
    const old = parked(crypto.randomUUID())
    const createdMs = Date.parse(old.created_at)
    await runInDurableObject(stub, (_coordinator, state) => {
      const sql = state.storage.sql
      // The table as migration 1 (and the unversioned code before it) made it.
      sql.exec(`CREATE TABLE approvals (id TEXT PRIMARY KEY, status TEXT NOT NULL,
        expires_ms INTEGER NOT NULL, record TEXT NOT NULL, approved_by TEXT, closed_at TEXT,
        outcome TEXT)`)
      sql.exec(
        `INSERT INTO approvals (id, status, expires_ms, record) VALUES (?, 'pending', ?, ?)`,
        old.id,
        Date.parse(old.expires_at),
        JSON.stringify(old),
      )
      const table = opened(state, {}, 'approvals')
      // Issue 22: and on through migration 3 (the table rebuilt, its rows kept).
      expect(appliedId(sql, 'approvals')).toBe(3)
      const [row] = sql
        .exec<{ created_ms: number }>('SELECT created_ms FROM approvals WHERE id = ?', old.id)
        .toArray()
      expect(row?.created_ms).toBe(createdMs)
      const concerning = { member: 'admin', roles: ['admin'] }
      const page = table.pending({ after: null, limit: 5, concerning }, Date.now())
      expect(page.approvals.map((a) => a.id)).toEqual([old.id])
    })
  })

  // Issue 22.
  it('rebuilds the table for withdrawn, rejected and gone, keeping every row (migration 3)', async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName('v2-' + crypto.randomUUID()))
    const old = parked(crypto.randomUUID())
    await runInDurableObject(stub, (_coordinator, state) => {
      const sql = state.storage.sql
      // The table as migration 2 left it, with a pending row.
      sql.exec(`CREATE TABLE approvals (id TEXT PRIMARY KEY, status TEXT NOT NULL
        CHECK (status IN ('pending', 'executing', 'executed', 'failed', 'expired')),
        expires_ms INTEGER NOT NULL, record TEXT NOT NULL, approved_by TEXT, closed_at TEXT,
        outcome TEXT, created_ms INTEGER NOT NULL DEFAULT 0)`)
      sql.exec(
        `INSERT INTO approvals (id, status, expires_ms, created_ms, record) VALUES (?, 'pending', ?, ?, ?)`,
        old.id,
        Date.parse(old.expires_at),
        Date.parse(old.created_at),
        JSON.stringify(old),
      )
      expect(appliedId(sql, 'approvals')).toBe(0) // creates the migrations' ledger
      sql.exec(
        `INSERT INTO schema_migrations (module, last_id, applied_at_ms) VALUES ('approvals', 2, 0)`,
      )
      const table = opened(state, {}, 'approvals')
      expect(appliedId(sql, 'approvals')).toBe(3)
      // The old row is the certificate's open approval: a second park gets it back.
      const again = table.parkOnce({ ...old, id: crypto.randomUUID() }, Date.now())
      expect(again).toMatchObject({ existing: true, approval: { id: old.id } })
      const ended = table.end(old.id, { status: 'rejected', by: 'admin', reason: 'no' }, Date.now())
      expect(ended).toMatchObject({
        ended: true,
        approval: { status: 'rejected', closed_by: 'admin', close_reason: 'no' },
      })
      expect(table.end(old.id, { status: 'withdrawn', by: 'bob' }, Date.now()).ended).toBe(false)
    })
  })
})
