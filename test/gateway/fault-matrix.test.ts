/**
 * Every endpoint that calls the upstream × every way the upstream can fail, as one matrix. Each
 * cell injects one fault (for every attempt of the request it targets) and asserts what the caller
 * is answered (status and first error code), how many times the faulted request reached the
 * emulator (reads are retried on 5xx, network errors and short 429s up to UPSTREAM_MAX_ATTEMPTS,
 * 3 here; writes and timeouts never), the outcome class and attempt count of the request's audit
 * entry, and what the ledger holds afterwards. The expected values are written out in MATRIX, not
 * computed: a change in any of them is a change in behaviour that must show up here.
 *
 * A 429 also opens the token's breaker: the next request, of another team, is held by the gateway
 * (429/18430) and costs no upstream call. test/setup.ts closes the breaker before each test.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import type { Fault as Injected } from '../kit/emulator'
import { storedApprovals, storedIntents, storedOwner } from '../support/coordinator'
import { emulator, seedUnowned } from '../support/emulator'
import {
  GATEWAY,
  callJson,
  certificateUrl,
  certificatesUrl,
  uploadNew,
  uploadedId,
  type CallOptions,
} from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'

beforeEach(async () => {
  await emulator.reset()
})

/** A timeout short enough to keep the matrix fast; the faults that outlast it take LATE_MS. */
const TIMEOUT = { UPSTREAM_TIMEOUT_MS: '400' }
const LATE_MS = 900

type Fault = { inject: Injected; env?: Partial<Env> }

/** The faults, each queued for 10 uses so that every retry meets it too. */
const FAULTS = {
  timeout: { inject: { kind: 'latency', ms: LATE_MS }, env: TIMEOUT },
  '500': { inject: { kind: 'status', status: 500 } },
  '502': { inject: { kind: 'status', status: 502 } },
  '503': { inject: { kind: 'status', status: 503 } },
  '429 retry-after 60': { inject: { kind: 'rate_limit', retry_after: 60 } },
  'non-JSON 200': { inject: { kind: 'non_json', status: 200 } },
  'success:false 200': { inject: { kind: 'status', status: 200, code: 10013, message: 'busy' } },
  'null result': { inject: { kind: 'null_result' } },
  'dropped body': { inject: { kind: 'drop' } },
  'connection reset': { inject: { kind: 'reset' } },
  'slow body': { inject: { kind: 'slow_body', ms: 5_000 }, env: TIMEOUT },
} satisfies Record<string, Fault>
type FaultName = keyof typeof FAULTS

/** What the ledger holds after the request. */
type Ledger =
  | 'owner kept' // the certificate's owner is still payments
  | 'unowned' // still no owner
  | 'intent kept' // the upload's intent is still there (the certificate may exist: adoption)
  | 'intent cleared' // the upload was refused: nothing to adopt
  | 'owner kept, approval failed' // the approval is closed as failed, never pending again
  | 'owner kept, approval pending' // a 429 deleted nothing: the approval is open again

/** [status, first error code (null: none), calls of the faulted request, audit class, ledger] */
type Cell = [number, number | null, number, AuditEntry['outcome']['class'], Ledger]

interface Target {
  id?: string
  approvalId?: string
}

interface Endpoint {
  /** What the fault is queued for (`match`): the request whose failure the cell is about. */
  faulted: { method: string; path_contains?: string }
  /** Upstream calls the request makes besides the faulted ones (they succeed). */
  otherCalls: number
  setup(): Promise<Target>
  send(target: Target, options: CallOptions): ReturnType<typeof callJson>
}

const aliceOwns = async (ca = false): Promise<Target> => ({
  id: await uploadedId({ ca }, { key: KEYS.alice }),
})

const ENDPOINTS = {
  list: {
    faulted: { method: 'GET' },
    otherCalls: 0,
    setup: () => aliceOwns(),
    send: (_, options) => callJson(certificatesUrl(), { key: KEYS.alice, ...options }),
  },
  get: {
    faulted: { method: 'GET' },
    otherCalls: 0,
    setup: () => aliceOwns(),
    send: ({ id }, options) => callJson(certificateUrl(id!), { key: KEYS.alice, ...options }),
  },
  associations: {
    faulted: { method: 'GET', path_contains: '/associations' },
    otherCalls: 0,
    setup: () => aliceOwns(),
    send: ({ id }, options) =>
      callJson(`${certificateUrl(id!)}/associations`, { key: KEYS.alice, ...options }),
  },
  upload: {
    faulted: { method: 'POST' },
    otherCalls: 0,
    setup: () => Promise.resolve({}),
    send: async (_, options) => uploadNew({}, { key: KEYS.alice, ...options }),
  },
  delete: {
    faulted: { method: 'DELETE' },
    otherCalls: 1, // the associations read before it
    setup: () => aliceOwns(),
    send: ({ id }, options) =>
      callJson(certificateUrl(id!), { method: 'DELETE', key: KEYS.bob, ...options }),
  },
  // The read a delete makes first: when it fails, nothing is deleted and no DELETE is sent.
  'delete (its associations read)': {
    faulted: { method: 'GET', path_contains: '/associations' },
    otherCalls: 0,
    setup: () => aliceOwns(),
    send: ({ id }, options) =>
      callJson(certificateUrl(id!), { method: 'DELETE', key: KEYS.bob, ...options }),
  },
  // An admin places a certificate nobody owns: the gateway reads it upstream first.
  assign: {
    faulted: { method: 'GET' },
    otherCalls: 0,
    setup: async () => ({ id: await seedUnowned() }),
    send: ({ id }, options) =>
      callJson(`${GATEWAY}/accounts/${ACCOUNT}/mtls_certificates/${id}/owner`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ team: 'payments' }),
        ...options,
      }),
  },
  // bob's delete of a CA was parked; an admin approves it, and the gateway sends the DELETE.
  approve: {
    faulted: { method: 'DELETE' },
    otherCalls: 1, // the associations read, again at approval time
    setup: async () => {
      const { id } = await aliceOwns(true)
      const parked = await callJson(certificateUrl(id!), {
        method: 'DELETE',
        key: KEYS.bob,
        headers: { prefer: 'respond-async' },
      })
      expect(parked.status, parked.text).toBe(202)
      return {
        id,
        approvalId: (JSON.parse(parked.text) as { approval: { id: string } }).approval.id,
      }
    },
    send: ({ approvalId }, options) =>
      callJson(`${GATEWAY}/approvals/${approvalId}/approve`, { method: 'POST', ...options }),
  },
  // Explaining a delete reads the certificate's associations (an owned one: the ledger has it).
  explain: {
    faulted: { method: 'GET', path_contains: '/associations' },
    otherCalls: 0,
    setup: () => aliceOwns(),
    send: ({ id }, options) =>
      callJson(
        `${GATEWAY}/explain?${new URLSearchParams({ action: 'delete', account_id: ACCOUNT, mtls_certificate_id: id! })}`,
        { key: KEYS.bob, ...options },
      ),
  },
} satisfies Record<string, Endpoint>
type EndpointName = keyof typeof ENDPOINTS

const UE = 'upstream_error'

/** A read retried up to 3 times; the owner stays. */
const readCells = (ledger: Ledger): Record<FaultName, Cell> => ({
  timeout: [504, 18504, 1, UE, ledger],
  '500': [502, 18506, 3, UE, ledger],
  '502': [502, 18506, 3, UE, ledger],
  '503': [502, 18506, 3, UE, ledger],
  '429 retry-after 60': [429, 971, 1, UE, ledger],
  'non-JSON 200': [502, 18502, 1, UE, ledger],
  'success:false 200': [502, 18502, 1, UE, ledger],
  'null result': [502, 18502, 1, UE, ledger],
  'dropped body': [502, 18503, 3, UE, ledger],
  'connection reset': [502, 18503, 3, UE, ledger],
  'slow body': [504, 18504, 1, UE, ledger],
})

const MATRIX: Record<EndpointName, Record<FaultName, Cell>> = {
  list: {
    ...readCells('owner kept'),
    // The official SDK reads a null list as an empty page, and so does the gateway.
    'null result': [200, null, 1, 'allowed', 'owner kept'],
  },
  get: readCells('owner kept'),
  associations: readCells('owner kept'),
  // Tried once. After a refusal (429) nothing was created and the intent goes; after anything
  // else the certificate may exist upstream, so the intent stays for adoption.
  upload: {
    timeout: [504, 18504, 1, UE, 'intent kept'],
    '500': [502, 18506, 1, UE, 'intent kept'],
    '502': [502, 18506, 1, UE, 'intent kept'],
    '503': [502, 18506, 1, UE, 'intent kept'],
    '429 retry-after 60': [429, 971, 1, UE, 'intent cleared'],
    'non-JSON 200': [502, 18502, 1, UE, 'intent kept'],
    'success:false 200': [502, 18502, 1, UE, 'intent kept'],
    'null result': [502, 18502, 1, UE, 'intent kept'],
    'dropped body': [502, 18503, 1, UE, 'intent kept'],
    'connection reset': [502, 18503, 1, UE, 'intent kept'],
    'slow body': [504, 18504, 1, UE, 'intent kept'],
  },
  // Tried once; the owner stays whatever the failure.
  delete: {
    timeout: [504, 18504, 1, UE, 'owner kept'],
    '500': [502, 18506, 1, UE, 'owner kept'],
    '502': [502, 18506, 1, UE, 'owner kept'],
    '503': [502, 18506, 1, UE, 'owner kept'],
    '429 retry-after 60': [429, 971, 1, UE, 'owner kept'],
    'non-JSON 200': [502, 18502, 1, UE, 'owner kept'],
    'success:false 200': [502, 18502, 1, UE, 'owner kept'],
    'null result': [502, 18502, 1, UE, 'owner kept'],
    'dropped body': [502, 18503, 1, UE, 'owner kept'],
    'connection reset': [502, 18503, 1, UE, 'owner kept'],
    'slow body': [504, 18504, 1, UE, 'owner kept'],
  },
  // A null associations answer is a failure, never "not in use".
  'delete (its associations read)': readCells('owner kept'),
  assign: readCells('unowned'),
  approve: {
    timeout: [504, 18504, 1, UE, 'owner kept, approval failed'],
    '500': [502, 18506, 1, UE, 'owner kept, approval failed'],
    '502': [502, 18506, 1, UE, 'owner kept, approval failed'],
    '503': [502, 18506, 1, UE, 'owner kept, approval failed'],
    '429 retry-after 60': [429, 971, 1, UE, 'owner kept, approval pending'],
    'non-JSON 200': [502, 18502, 1, UE, 'owner kept, approval failed'],
    'success:false 200': [502, 18502, 1, UE, 'owner kept, approval failed'],
    'null result': [502, 18502, 1, UE, 'owner kept, approval failed'],
    'dropped body': [502, 18503, 1, UE, 'owner kept, approval failed'],
    'connection reset': [502, 18503, 1, UE, 'owner kept, approval failed'],
    'slow body': [504, 18504, 1, UE, 'owner kept, approval failed'],
  },
  explain: readCells('owner kept'),
}

/** The audit entry of one request: its event key ends with the request id. */
async function entryOf(requestId: string): Promise<AuditEntry> {
  let cursor: string | undefined
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.AUDIT.list({
      prefix: 'v1:e:',
      ...(cursor ? { cursor } : {}),
    })
    const key = page.keys.find((k) => k.name.endsWith(`:${requestId}`))
    if (key) return JSON.parse((await env.AUDIT.get(key.name))!) as AuditEntry
    cursor = page.list_complete ? undefined : page.cursor
  } while (cursor)
  throw new Error(`no audit entry for request ${requestId}`)
}

const matching = (faulted: Endpoint['faulted']) => (r: { method: string; path: string }) =>
  r.method === faulted.method &&
  (faulted.path_contains === undefined || r.path.includes(faulted.path_contains))

async function expectLedger(ledger: Ledger, target: Target, requestId: string) {
  const owner = target.id === undefined ? null : await storedOwner(target.id)
  const intents = (await storedIntents()).map((i) => i.request_id)
  switch (ledger) {
    case 'owner kept':
      expect(owner?.team).toBe('payments')
      break
    case 'unowned':
      expect(owner).toBeNull()
      break
    case 'intent kept':
      expect(intents).toContain(requestId)
      break
    case 'intent cleared':
      expect(intents).not.toContain(requestId)
      break
    case 'owner kept, approval failed': {
      expect(owner?.team).toBe('payments')
      const approval = (await storedApprovals()).find((a) => a.id === target.approvalId)
      expect(approval?.status).toBe('failed')
      break
    }
    case 'owner kept, approval pending': {
      expect(owner?.team).toBe('payments')
      const approval = (await storedApprovals()).find((a) => a.id === target.approvalId)
      expect(approval?.status).toBe('pending')
      break
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each(Object.keys(ENDPOINTS) as EndpointName[])('%s', (endpointName) => {
  const endpoint: Endpoint = ENDPOINTS[endpointName]
  it.each(Object.entries(MATRIX[endpointName]) as [FaultName, Cell][])(
    '× %s → %j',
    async (faultName, [status, code, calls, outcome, ledger]) => {
      const fault: Fault = FAULTS[faultName]
      const target = await endpoint.setup()
      await emulator.clearRequests()
      await emulator.addFaults({ ...fault.inject, times: 10, match: endpoint.faulted })
      const started = Date.now()

      const answer = await endpoint.send(target, fault.env ? { env: fault.env } : {})

      expect([answer.status, answer.body.errors[0]?.code ?? null], answer.text).toEqual([
        status,
        code,
      ])
      if (status >= 500) expect(answer.response.headers.get('x-should-retry')).toBe('false')
      if (status === 429) expect(answer.response.headers.get('retry-after')).toBe('60')
      const log = await emulator.requests()
      expect(log.filter(matching(endpoint.faulted))).toHaveLength(calls)
      expect(log).toHaveLength(calls + endpoint.otherCalls)

      const requestId = answer.response.headers.get('x-request-id')!
      const entry = await entryOf(requestId)
      expect(entry.outcome).toMatchObject({ class: outcome, status })
      if (code !== null) expect(entry.outcome.error_codes).toContain(code)
      expect(entry.upstream_attempts).toBe(calls + endpoint.otherCalls)
      await expectLedger(ledger, target, requestId)

      if (status === 429) {
        // The breaker is open: another team's request is held, and nothing is sent.
        const held = await callJson(certificatesUrl(), { key: KEYS.carol })
        expect([held.status, held.body.errors[0]?.code]).toEqual([429, 18430])
        expect(await emulator.requests()).toHaveLength(log.length)
      }
      // A latency fault answers (and acts) after the gateway gave up: let it finish before the
      // next test resets the emulator, so that nothing it does lands in another test.
      if (fault.inject.kind === 'latency') await sleep(started + LATE_MS + 150 - Date.now())
    },
  )
})

describe('what a kept intent is for', () => {
  it('an upload whose answer came too late exists upstream, and the next list adopts it for the team', async () => {
    await emulator.addFaults({ kind: 'slow_body', ms: 5_000, match: { method: 'POST' } })
    const late = await uploadNew({}, { key: KEYS.alice, env: TIMEOUT })
    expect([late.status, late.body.errors[0]?.code]).toEqual([504, 18504])

    const list = await callJson<{ id: string; certificates: string }[]>(certificatesUrl(), {
      key: KEYS.alice,
    })
    const adopted = list.body.result.find((c) => c.certificates === late.certificates.trimEnd())
    expect(adopted, list.text).toBeDefined()
    expect((await storedOwner(adopted!.id))?.team).toBe('payments')
    expect((await storedIntents()).map((i) => i.request_id)).not.toContain(
      late.response.headers.get('x-request-id'),
    )
    // Another team does not see it.
    const other = await callJson<unknown[]>(certificatesUrl(), { key: KEYS.carol })
    expect(other.body.result).toEqual([])
  })
})
