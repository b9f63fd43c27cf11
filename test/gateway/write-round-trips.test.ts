/**
 * Issue 21 item 3: how many coordinator round trips an upload and a delete wait for before their
 * answer. Every RPC to the coordinator is logged with the order it started and ended in; a call's
 * _depth_ is 1 + the deepest call that had ended before it started, so the deepest call is the
 * number of round trips the response waited for one after another (two calls made side by side
 * share a depth). Order, never time: no assertion depends on how fast anything runs.
 *
 * Not counted: the member's rate lease (`memberRateAsk`, taken by every authenticated request,
 * docs/architecture.md) and what runs after the response (`waitUntil`).
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { makeCertificate } from '../kit/certificates'
import { coordinatorObserved } from '../support/coordinator'
import { emulator } from '../support/emulator'
import { GATEWAY, callJson, certificatesUrl, certificateUrl, uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'

beforeEach(async () => {
  await emulator.reset()
})

interface Logged {
  method: string
  depth: number
}

/** The real coordinator, logging each RPC of the request with its depth. */
function countingCoordinator(log: Logged[]): Env['COORDINATOR'] {
  // Depth of the calls that have ended so far: a call started now waits after all of them.
  let endedDepth = 0
  return coordinatorObserved((method, call) => {
    // The member's rate lease is not counted (every authenticated request takes it first).
    if (method === 'memberRateAsk') return call()
    const entry = { method, depth: endedDepth + 1 }
    log.push(entry)
    return call().finally(() => {
      endedDepth = Math.max(endedDepth, entry.depth)
    })
  })
}

/** Calls the gateway; answers its status and the RPCs made before its response. */
async function counted(url: string, init: RequestInit & { key: string }, overrides = {}) {
  const log: Logged[] = []
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${init.key}`)
  const ctx = createExecutionContext()
  const response = await worker.fetch(
    new Request(url, { ...init, headers }),
    { ...env, ...overrides, COORDINATOR: countingCoordinator(log) },
    ctx,
  )
  const before = [...log]
  const body = await response.text()
  await waitOnExecutionContext(ctx)
  return {
    status: response.status,
    body,
    methods: before.map((call) => call.method),
    calls: before,
    depth: Math.max(0, ...before.map((call) => call.depth)),
    /** The round trips on the response path other than the budget's lease. */
    rounds: before.filter((call) => call.method !== 'lease').length,
  }
}

async function uploadCounted(key: string, overrides = {}) {
  const { pem } = await makeCertificate({ ca: false })
  return counted(
    certificatesUrl(),
    {
      method: 'POST',
      key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ca: false, certificates: pem }),
    },
    overrides,
  )
}

describe('round trips on the response path (issue 21 item 3)', () => {
  it('an upload waits for two: the intent with its audit number, then the owner', async () => {
    const upload = await uploadCounted(KEYS.alice)
    expect(upload.status, upload.body).toBe(200)
    // The owner, with the snapshot's write-through when the snapshot is on (one step either way).
    expect(upload.methods.filter((m) => m !== 'lease')).toEqual([
      'recordIntentNumbered',
      expect.stringMatching(/^confirmUpload(Stored)?$/),
    ])
    expect(upload.rounds).toBe(2)
    // The budget's lease, when the isolate asks for one, goes beside the intent, never after it.
    expect(upload.depth).toBe(2)
  })

  it('a delete waits for two: the owner with its audit number, then the release', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    const gone = await counted(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    expect(gone.status, gone.body).toBe(200)
    expect(gone.methods.filter((m) => m !== 'lease')).toEqual([
      'ownerNumbered',
      expect.stringMatching(/^releaseOwner(Stored)?$/),
    ])
    // The associations' lease (and the delete's, when the first was used up) come between.
    expect(gone.rounds).toBe(2)
    expect(await chainProblems()).toEqual([])
  })

  it('a delete of a certificate with a named successor waits for one more: its check kept', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    const next = await uploadedId({}, { key: KEYS.alice })
    const named = await callJson(
      `${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/successor`,
      {
        method: 'PUT',
        key: KEYS.alice,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ successor_id: next }),
      },
    )
    expect(named.status).toBe(200)
    const gone = await counted(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    expect(gone.status, gone.body).toBe(200)
    // The pairing comes with the owner; what the gate's check found is kept for the expiring
    // list (issue 23), then the release.
    expect(gone.methods.filter((m) => m !== 'lease')).toEqual([
      'ownerNumbered',
      'recordSuccessorCheck',
      expect.stringMatching(/^releaseOwner(Stored)?$/),
    ])
  })

  it('a parked delete waits for two: the owner with its audit number, then the park', async () => {
    const id = await uploadedId({ ca: true }, { key: KEYS.alice })
    const parked = await counted(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
      headers: { prefer: 'respond-async' },
    })
    expect(parked.status, parked.body).toBe(202)
    expect(parked.methods.filter((m) => m !== 'lease')).toEqual([
      'ownerNumbered',
      'parkApprovalOnce',
    ])
    expect(parked.rounds).toBe(2)
    expect(await chainProblems()).toEqual([])
  })

  it('a refused delete, numbered before the decision, still leaves the chain whole', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    // carol's team cannot see payments' certificate: refused after its number was taken.
    const refused = await counted(certificateUrl(id), { method: 'DELETE', key: KEYS.carol })
    expect(refused.status).toBe(404)
    expect(refused.methods).toEqual(['ownerNumbered'])
    expect(await chainProblems()).toEqual([])
  })
})

describe('lifecycle reads: one round trip per account (issue 23)', () => {
  // A read's own entry is chained after the response (`waitUntil`), but may start before it.
  const domain = (calls: Logged[]) =>
    calls.filter((c) => c.method !== 'lease' && c.method !== 'appendAudit')

  it('the expiring list reads each account once, the accounts side by side', async () => {
    await uploadedId({}, { key: KEYS.alice })
    // The first list fills each account's snapshot (a refresh stores it); the second is the cost
    // of a list: owners, snapshot, notices and successors of each account in one answer.
    expect((await counted(`${GATEWAY}/expiring`, { key: KEYS.admin })).status).toBe(200)
    const listed = await counted(`${GATEWAY}/expiring`, { key: KEYS.admin })
    expect(listed.status, listed.body).toBe(200)
    // The admin's team (platform) has two accounts: one call each, neither waiting on the other.
    expect(domain(listed.calls)).toEqual([
      { method: 'lifecycleView', depth: 1 },
      { method: 'lifecycleView', depth: 1 },
    ])
  })

  it("the team calendar reads each of the team's accounts once", async () => {
    await uploadedId({}, { key: KEYS.alice })
    const { body } = await callJson<{ path: string }>(`${GATEWAY}/expiring/calendar`, {
      key: KEYS.alice,
    })
    const feed = `https://gateway.test${body.result!.path}`
    expect((await counted(feed, { key: KEYS.alice })).status).toBe(200)
    const read = await counted(feed, { key: KEYS.alice })
    expect(read.status, read.body).toBe(200)
    expect(domain(read.calls)).toEqual([{ method: 'lifecycleView', depth: 1 }])
  })
})

/** What the chain's verification finds wrong with the account's chain (nothing, when whole). */
async function chainProblems() {
  const { body } = await callJson<{ problems: unknown[] }>(
    `${GATEWAY}/audit/verify/chain?chain=${ACCOUNT}`,
    { key: KEYS.auditor },
  )
  return body.result.problems
}
