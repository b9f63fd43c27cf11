/**
 * The operations on plain inputs: an in-memory ledger and approval store, an upstream that answers
 * from a table and counts what it is asked, an audit port that counts pending writes. No Worker,
 * no bindings, no emulator: what an operation does is decided by its inputs alone.
 */
import { describe, expect, it } from 'vitest'
import { approveDelete } from '../../src/approvals/approve'
import type { ApprovalDeps } from '../../src/kernel/operation'
import type { Approval } from '../../src/approvals/store'
import type { Findings } from '../../src/audit/record'
import {
  deleteCertificate,
  getCertificate,
  listAssociations,
} from '../../src/certificates/operations'
import type { Principal } from '../../src/identity/principal'
import { GatewayError } from '../../src/lib/errors'
import type { Ledger, Ownership } from '../../src/ownership/ledger'
import { parsePolicy, type Policy } from '../../src/policy/document'
import { authorizer } from '../../src/policy/enforce'
import type { Upstream } from '../../src/upstream/port'
import type { UpstreamRequest } from '../../src/upstream/request'
import { ACCOUNT, MEMBERS, buildPolicy } from '../support/identities'

// Keys are not checked here; every member only needs a distinct well-formed hash.
let hashes = 0
const fakeHash = () => (hashes++).toString(16).padStart(64, '0')
const parsed = parsePolicy(JSON.stringify(buildPolicy(fakeHash)))
if (!parsed.ok) throw new Error(`the suite policy does not parse: ${JSON.stringify(parsed)}`)
const policy: Policy = parsed.policy

const CERT = '11111111-2222-4333-8444-555555555555'

function principalOf(id: string): Principal {
  const member = MEMBERS.find((m) => m.id === id)!
  return { memberId: member.id, teamId: member.team, roles: member.roles, via: 'key' }
}

function fakes(options: { ca?: boolean; associations?: unknown[] } = {}) {
  const owners = new Map<string, Ownership>([
    [
      CERT,
      {
        team: 'payments',
        member: 'alice',
        request_id: 'r',
        assigned_at: '2026-01-01T00:00:00Z',
        via: 'upload',
        ca: options.ca ?? false,
        expires_on: '2099-01-01T00:00:00Z',
      },
    ],
  ])
  const ledger = {
    owner: async (_account: string, id: string) => owners.get(id) ?? null,
    owners: async () => ({
      owners: new Map([...owners].map(([id, o]) => [id, o.team])),
      intents: [],
    }),
    intents: async () => [],
    assign: async (_account: string, id: string, o: Ownership) => void owners.set(id, o),
    assignWithin: async (_account: string, id: string, o: Ownership) => {
      owners.set(id, o)
      return { admitted: true, used: 0 }
    },
    release: async (_account: string, id: string) => void owners.delete(id),
    recordIntent: async () => ({ admitted: true, used: 0 }),
    recordIntentNumbered: async () => ({ admitted: true, used: 0, position: null }),
    ownerNumbered: async (_account: string, id: string) => ({
      owner: owners.get(id) ?? null,
      position: null,
      pairings: [],
    }),
    clearIntent: async () => {},
    confirmUpload: async (_account: string, id: string, o: Ownership) => void owners.set(id, o),
    adopt: async () => [],
    caHeldBy: async () => 0,
  } satisfies Ledger
  const calls: string[] = []
  const upstream: Upstream = {
    async call<R>(request: UpstreamRequest<R>) {
      calls.push(`${request.method} ${request.path}`)
      const result = request.path.endsWith('/associations')
        ? (options.associations ?? [])
        : { id: CERT, ca: options.ca ?? false }
      const checked = request.result.check(result)
      if (!checked.ok) throw new Error(checked.problem)
      return { success: true, errors: [], messages: [], result: checked.value }
    },
  }
  const stored = new Map<string, Approval>()
  let pendingWrites = 0
  const deps = (member: string): ApprovalDeps => ({
    principal: principalOf(member),
    requestId: 'request-1',
    who: authorizer(principalOf(member), policy),
    ledger,
    upstream,
    approvals: {
      newId: () => crypto.randomUUID(),
      put: async (approval) => void stored.set(approval.id, approval),
      get: async (id) => stored.get(id) ?? null,
      // Atomic in JavaScript's one thread: nothing awaits between the check and the update.
      claim: async (id, approver) => {
        const approval = stored.get(id)
        const claimed = approval?.status === 'pending'
        if (claimed) stored.set(id, { ...approval, status: 'executing', approved_by: approver })
        return { claimed, approval: stored.get(id) ?? null }
      },
      release: async (id, approver) => {
        const approval = stored.get(id)
        if (approval?.status !== 'executing' || approval.approved_by !== approver) return
        const { approved_by: _approver, ...pending } = approval
        stored.set(id, { ...pending, status: 'pending' })
      },
      close: async (id, { status, outcome }, now) => {
        const approval = stored.get(id)
        if (approval?.status !== 'executing') return
        const closed_at = now.toISOString()
        stored.set(id, { ...approval, status, closed_at, ...(outcome ? { outcome } : {}) })
      },
      // The coordinator's paging is tested through the Worker (test/console/pages.test.ts).
      pending: async (accountId) => ({
        approvals: [...stored.values()].filter(
          (a) => a.account_id === accountId && a.status === 'pending',
        ),
        next: null,
      }),
      // Issue 22: one open approval per certificate; ending a pending one.
      parkOnce: async (approval) => {
        const open = [...stored.values()].find(
          (a) =>
            a.certificate_id === approval.certificate_id &&
            (a.status === 'pending' || a.status === 'executing'),
        )
        if (open) return { approval: open, existing: true }
        stored.set(approval.id, approval)
        return { approval, existing: false }
      },
      end: async (id, { status, by, reason }, now) => {
        const approval = stored.get(id)
        if (approval?.status !== 'pending') return { ended: false, approval: approval ?? null }
        const ended = {
          ...approval,
          status,
          closed_at: now.toISOString(),
          closed_by: by,
          ...(reason ? { close_reason: reason } : {}),
        }
        stored.set(id, ended)
        return { ended: true, approval: ended }
      },
    },
    audit: {
      beforeChange: async (_found: Findings) => {
        pendingWrites++
      },
    },
    uploadWindowMs: 10_000,
    caQuota: () => null,
    policy,
  })
  return { deps, calls, owners, stored, pendingWrites: () => pendingWrites }
}

const ref = { accountId: ACCOUNT, certificateId: CERT }
const codeOf = (error: unknown) => (error as GatewayError).errors[0]!.code

describe('deleteCertificate', () => {
  it('refuses a developer before asking the upstream anything, keeping the decision that did', async () => {
    const { deps, calls, pendingWrites } = fakes()
    const outcome = await deleteCertificate(deps('alice'), ref)
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(codeOf(outcome.error)).toBe(18301)
    expect(outcome.findings).toMatchObject({
      accountId: ACCOUNT,
      certificateId: CERT,
      decision: { effect: 'deny' },
    })
    expect(calls).toEqual([])
    expect(pendingWrites()).toBe(0)
  })

  it('answers another team as if the certificate did not exist', async () => {
    const { deps, calls } = fakes()
    const outcome = await deleteCertificate(deps('dave'), ref)
    expect(!outcome.ok && codeOf(outcome.error)).toBe(1472)
    expect(calls).toEqual([])
  })

  it('refuses a certificate in use after looking at its associations, and deletes nothing', async () => {
    const { deps, calls, owners } = fakes({ associations: [{ service: 'gateway', status: 'ok' }] })
    const outcome = await deleteCertificate(deps('bob'), ref)
    expect(!outcome.ok && codeOf(outcome.error)).toBe(18302)
    expect(calls).toEqual([`GET /accounts/${ACCOUNT}/mtls_certificates/${CERT}/associations`])
    expect(owners.has(CERT)).toBe(true)
  })

  it('refuses a certificate in use whose associations leave out service or status (the API reference marks both optional)', async () => {
    const { deps, calls, owners } = fakes({ associations: [{ service: 'gateway' }, {}] })
    const outcome = await deleteCertificate(deps('bob'), ref)
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect((outcome.error as GatewayError).errors).toEqual([
      {
        code: 18302,
        message:
          'The certificate is in use by gateway (unknown), unknown (unknown); remove those associations before deleting it',
      },
    ])
    expect(calls.some((c) => c.startsWith('DELETE'))).toBe(false)
    expect(owners.has(CERT)).toBe(true)
  })

  it('deletes a leaf for a lead: on record first, then forwarded, then the owner released', async () => {
    const { deps, calls, owners, pendingWrites } = fakes()
    const outcome = await deleteCertificate(deps('bob'), ref)
    expect(outcome.ok && outcome.value.kind).toBe('deleted')
    expect(calls.at(-1)).toBe(`DELETE /accounts/${ACCOUNT}/mtls_certificates/${CERT}`)
    expect(pendingWrites()).toBe(1)
    expect(owners.has(CERT)).toBe(false)
  })

  it('writes its pending entry after the decision, carrying the rules that allowed it', async () => {
    const { deps, calls } = fakes()
    const lead = deps('bob')
    const recorded: { decision: unknown; calls: string[] }[] = []
    lead.audit = {
      beforeChange: async (found: Findings) =>
        void recorded.push({ decision: found.decision, calls: [...calls] }),
    }
    const outcome = await deleteCertificate(lead, ref)
    expect(outcome.ok && outcome.value.kind).toBe('deleted')
    expect(recorded).toEqual([
      {
        decision: expect.objectContaining({ effect: 'allow', ruleIds: ['leads-delete-own'] }),
        calls: [`GET /accounts/${ACCOUNT}/mtls_certificates/${CERT}/associations`],
      },
    ])
  })

  it('writes no pending entry for a delete refused as in use', async () => {
    const { deps, pendingWrites } = fakes({ associations: [{ service: 'gateway', status: 'ok' }] })
    const outcome = await deleteCertificate(deps('bob'), ref)
    expect(!outcome.ok && codeOf(outcome.error)).toBe(18302)
    expect(pendingWrites()).toBe(0)
  })

  it('forwards nothing when its pending entry cannot be written, associations in or not', async () => {
    const { deps, calls, owners } = fakes()
    const lead = deps('bob')
    lead.audit = { beforeChange: () => Promise.reject(GatewayError.of('AUDIT_UNAVAILABLE')) }
    const outcome = await deleteCertificate(lead, ref)
    expect(!outcome.ok && codeOf(outcome.error)).toBe(18401)
    expect(calls.some((c) => c.startsWith('DELETE'))).toBe(false)
    expect(owners.has(CERT)).toBe(true)
  })

  it('parks a CA delete by a lead: an approval stored, nothing deleted, the approval in the findings', async () => {
    const { deps, calls, stored, owners } = fakes({ ca: true })
    const outcome = await deleteCertificate(deps('bob'), ref)
    expect(outcome.ok && outcome.value.kind).toBe('parked')
    expect(calls.some((c) => c.startsWith('DELETE'))).toBe(false)
    expect(owners.has(CERT)).toBe(true)
    const [approval] = [...stored.values()]
    expect(approval).toMatchObject({ requested_by: 'bob', roles: ['admin'], status: 'pending' })
    expect(outcome.findings.approval).toEqual({ id: approval!.id, requestedBy: 'bob' })
  })
})

describe('approveDelete', () => {
  it('executes a parked delete once: a second approval is refused as used', async () => {
    const { deps, calls, stored } = fakes({ ca: true })
    await deleteCertificate(deps('bob'), ref)
    const [approval] = [...stored.values()]
    const first = await approveDelete(deps('admin'), approval!.id)
    expect(first.ok).toBe(true)
    expect(first.findings.approval).toEqual({
      id: approval!.id,
      requestedBy: 'bob',
      approvedBy: 'admin',
    })
    const second = await approveDelete(deps('admin2'), approval!.id)
    expect(!second.ok && codeOf(second.error)).toBe(18308)
    expect(calls.filter((c) => c.startsWith('DELETE'))).toHaveLength(1)
    expect(stored.get(approval!.id)!.status).toBe('executed')
  })

  it('refuses the requester approving their own delete', async () => {
    const { deps, stored, calls } = fakes({ ca: true })
    await deleteCertificate(deps('bob'), ref)
    const [approval] = [...stored.values()]
    const outcome = await approveDelete(deps('bob'), approval!.id)
    expect(!outcome.ok && codeOf(outcome.error)).toBe(18305)
    expect(calls.some((c) => c.startsWith('DELETE'))).toBe(false)
  })
})

describe('getCertificate', () => {
  it('answers from the upstream for a member of the owning team, with no change on record', async () => {
    const { deps, calls, pendingWrites } = fakes()
    const outcome = await getCertificate(deps('alice'), ref)
    expect(outcome.ok && outcome.value.result.id).toBe(CERT)
    expect(calls).toEqual([`GET /accounts/${ACCOUNT}/mtls_certificates/${CERT}`])
    expect(pendingWrites()).toBe(0)
  })
})

describe('listAssociations', () => {
  it('relays associations as the upstream gives them, fields it leaves out included', async () => {
    const given = [{ service: 'gateway' }, { status: 'pending_deployment' }]
    const { deps } = fakes({ associations: given })
    const outcome = await listAssociations(deps('alice'), ref)
    expect(outcome.ok && outcome.value.result).toEqual(given)
  })
})
