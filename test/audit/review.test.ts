/**
 * The review API: each filter, the cursor over several pages, both export formats, who may read,
 * and what a query costs in KV operations (counted on the binding).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { rev, writeEntry } from '../../src/audit/store'
import { uuidv7 } from '../../src/lib/uuidv7'
import { expectNoSecretsInAudit, exportText } from '../support/audit'
import { call, callJson, type CallOptions } from '../support/gateway'
import { ACCOUNT, AUDIT_SIGNING_KEY, KEYS } from '../support/identities'
import { counting } from '../support/kv'
import { env } from 'cloudflare:test'

const AUDIT_URL = 'https://gateway.test/gateway/v1/audit'
const settings = { signingKey: AUDIT_SIGNING_KEY, retentionDays: 365 }
const MINUTE = 60_000

const CERTS = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222']
const TEAMS = ['payments', 'identity']
const ACTIONS = ['list', 'get', 'upload', 'delete', 'associations']
const OUTCOMES = ['allowed', 'invalid', 'upstream_error'] as const

/** Entry i of a seeded window: every field cycles, so each filter value matches a known subset. */
function seeded(i: number, time: number): AuditEntry {
  const team = TEAMS[i % 2]!
  const id = uuidv7(time)
  const entry: AuditEntry = {
    kind: 'request',
    id,
    time: new Date(time).toISOString(),
    request_id: id,
    member: `${team}-m${i % 3}`,
    team,
    via: 'key',
    action: ACTIONS[i % 5]!,
    account_id: ACCOUNT,
    outcome: {
      class: OUTCOMES[i % 3]!,
      status: [200, 400, 502][i % 3]!,
      error_codes: i % 3 ? [18100 + (i % 3)] : [],
    },
    latency_ms: i,
    upstream_attempts: i % 3 === 2 ? 1 : 0,
  }
  if (i % 4 === 0) {
    entry.certificate_id = CERTS[(i / 4) % 2]!
    entry.certificate_name = `=HYPERLINK("http://x.example/${i}")`
  }
  if (i % 3 === 0)
    entry.decision = { effect: i % 2 ? 'deny' : 'allow', rule_ids: [`rule-${i % 2}`] }
  return entry
}

/** Writes `count` entries one second apart, the newest at `newest`; returns them newest first. */
async function seed(count: number, newest: number): Promise<AuditEntry[]> {
  const entries = Array.from({ length: count }, (_, i) => seeded(i, newest - i * 1000))
  for (let i = 0; i < entries.length; i += 50) {
    await Promise.all(entries.slice(i, i + 50).map((e) => writeEntry(env.AUDIT, e, settings)))
  }
  return entries
}

async function query(params: Record<string, string | number>, options: CallOptions = {}) {
  const search = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))
  return callJson<AuditEntry[]>(`${AUDIT_URL}?${search}`, { key: KEYS.auditor, ...options })
}

const ids = (entries: AuditEntry[]) => entries.map((e) => e.id)

// A window two hours back, so that the requests the tests make (themselves audited) fall outside.
// Clock-relative on purpose: the request_id test below uses the default range (retention days back
// from now), and nothing asserted over this window depends on where it falls in the day.
const newest = Date.now() - 120 * MINUTE
const window = (extra: Record<string, string | number> = {}) => ({
  from: new Date(newest - 40 * MINUTE).toISOString(),
  to: new Date(newest).toISOString(),
  ...extra,
})
let small: AuditEntry[] = []

beforeAll(async () => {
  small = await seed(60, newest)
})

// The scan reads the 8,600 keys of the 2,660 seeded entries one by one: see test/setup.ts.
afterAll(async () => {
  await expectNoSecretsInAudit()
}, 60_000)

describe('filters', () => {
  it('returns the window newest first, every field as written', async () => {
    const { status, body } = await query(window({ limit: 1000 }))
    expect(status).toBe(200)
    expect(body.result).toEqual(small)
    expect(body.result_info).toEqual({ count: 60, cursor: null })
  })

  it.each([
    ['team', 'identity', (e: AuditEntry) => e.team === 'identity'],
    ['member', 'payments-m1', (e: AuditEntry) => e.member === 'payments-m1'],
    ['action', 'delete', (e: AuditEntry) => e.action === 'delete'],
    ['decision', 'deny', (e: AuditEntry) => e.decision?.effect === 'deny'],
    ['decision', 'none', (e: AuditEntry) => e.decision === undefined],
    ['outcome', 'upstream_error', (e: AuditEntry) => e.outcome.class === 'upstream_error'],
    ['certificate', CERTS[1]!, (e: AuditEntry) => e.certificate_id === CERTS[1]],
  ] as const)('%s=%s', async (name, value, keep) => {
    const expected = small.filter(keep)
    expect(expected.length).toBeGreaterThan(0)
    expect(expected.length).toBeLessThan(small.length)
    const { body } = await query(window({ [name]: value, limit: 1000 }))
    expect(ids(body.result)).toEqual(ids(expected))
  })

  it('combines filters', async () => {
    const expected = small.filter((e) => e.team === 'payments' && e.outcome.class === 'allowed')
    const { body } = await query(window({ team: 'payments', outcome: 'allowed', limit: 1000 }))
    expect(ids(body.result)).toEqual(ids(expected))
  })

  it('finds one request by its id with one list() call', async () => {
    const target = small[37]!
    const { kv, calls } = counting()
    const { body } = await query({ request_id: target.id }, { env: { AUDIT: kv } })
    expect(body.result).toEqual([target])
    expect(calls.list).toBe(1)
  })

  it('narrows by time range', async () => {
    const from = new Date(newest - 9_500).toISOString()
    const to = new Date(newest - 2_500).toISOString()
    const { body } = await query({ from, to })
    expect(ids(body.result)).toEqual(ids(small.slice(3, 10)))
  })

  it('sees the gateway traffic of the last moments with the default range', async () => {
    const { response } = await callJson(
      'https://gateway.test/client/v4/accounts/' + ACCOUNT + '/mtls_certificates?color=red',
      { key: KEYS.alice },
    )
    const id = response.headers.get('x-request-id')!
    const { body } = await query({ member: 'alice' })
    expect(body.result[0]).toMatchObject({ id, action: 'list', outcome: { class: 'invalid' } })
  })
})

describe('pagination', () => {
  it('walks the window in pages of 7 with the cursor: every entry once, in order', async () => {
    const seen: AuditEntry[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const { body }: { body: { result: AuditEntry[]; result_info?: Record<string, unknown> } } =
        await query(window({ limit: 7, ...(cursor ? { cursor } : {}) }))
      seen.push(...body.result)
      cursor = body.result_info!.cursor as string | null
      pages++
    } while (cursor && pages < 20)
    expect(ids(seen)).toEqual(ids(small))
    expect(pages).toBe(9)
  })

  it('keeps filtering across pages', async () => {
    const first = await query(window({ team: 'identity', limit: 10 }))
    const cursor = first.body.result_info!.cursor as unknown as string
    const second = await query(window({ team: 'identity', limit: 100, cursor }))
    const expected = small.filter((e) => e.team === 'identity')
    expect(ids([...first.body.result, ...second.body.result])).toEqual(ids(expected))
  })

  it.each([
    ['garbage', 'not-a-cursor'],
    // A position among keys the audit log does not have (the index families of earlier versions).
    ['a position outside the event keys', 'eyJwIjoidjE6dGVhbTppZGVudGl0eToiLCJhIjoiIn0'],
  ])('refuses %s with 18103 at /cursor', async (_, cursor) => {
    const { status, body } = await query(window({ member: 'payments-m1', cursor }))
    expect(status).toBe(400)
    expect(body.errors[0]).toMatchObject({ code: 18103, source: { pointer: '/cursor' } })
  })
})

describe('cost in KV operations', () => {
  // Fixed times, never Date.now()-relative. A range that ends in the past is listed from the
  // 10^7 ms (2.8 h) prefix of <rev> that holds its end (store.ts), one list() per prefix it reaches,
  // so where a window falls against those prefixes decides its cost. Placed relative to the clock,
  // this window straddled a prefix boundary 50 minutes out of every 2 h 47 min (a third of the day)
  // and the counts below came out as high as 2, 6 and 4. It crosses midnight of New Year's Eve:
  // calendar boundaries are nothing to the key layout.
  const bigNewest = Date.parse('2026-01-01T00:30:00Z')
  const bigFrom = bigNewest - 3000 * 1000
  let big: AuditEntry[] = []
  const bigWindow = (extra: Record<string, string | number> = {}) => ({
    from: new Date(bigFrom).toISOString(),
    to: new Date(bigNewest).toISOString(),
    ...extra,
  })

  beforeAll(async () => {
    big = await seed(2500, bigNewest)
  }, 60_000)

  it('seeds a window across a day, a month and a year, inside one 2.8-hour prefix of <rev>', () => {
    expect(new Date(bigFrom).toISOString()).toBe('2025-12-31T23:40:00.000Z')
    expect(rev(bigFrom).slice(0, 6)).toBe(rev(bigNewest).slice(0, 6))
  })

  it('answers 1000 entries with one list() call and no get()', async () => {
    const { kv, calls } = counting()
    const { body } = await query(bigWindow({ limit: 1000 }), { env: { AUDIT: kv } })
    expect(body.result).toHaveLength(1000)
    expect(ids(body.result)).toEqual(ids(big.slice(0, 1000)))
    expect(calls.get ?? 0).toBe(0)
    expect(calls.getWithMetadata ?? 0).toBe(0)
    expect(calls.list).toBe(1)
  })

  it('pages through 2500 entries in 3 pages, about one list() per 1000 entries each', async () => {
    const { kv, calls } = counting()
    let cursor: string | null = null
    const seen: string[] = []
    do {
      const { body }: { body: { result: AuditEntry[]; result_info?: Record<string, unknown> } } =
        await query(bigWindow({ limit: 1000, ...(cursor ? { cursor } : {}) }), {
          env: { AUDIT: kv },
        })
      seen.push(...ids(body.result))
      cursor = body.result_info!.cursor as string | null
    } while (cursor)
    expect(seen).toEqual(ids(big))
    expect(calls.get ?? 0).toBe(0)
    // One list() per 1000 keys: a cursor at the end of a KV page resumes at the next one.
    expect(calls.list).toBe(3)
  })

  it('exports the 2500 entries with list() calls only', async () => {
    const { kv, calls } = counting()
    const response = await call(`${AUDIT_URL}/export?${new URLSearchParams(bigWindow())}`, {
      key: KEYS.auditor,
      env: { AUDIT: kv },
    })
    const lines = (await exportText(response)).trimEnd().split('\n')
    expect(lines).toHaveLength(2501)
    expect(JSON.parse(lines[2500]!)).toMatchObject({ complete: true, count: 2500, filters: {} })
    expect(calls.get ?? 0).toBe(0)
    expect(calls.list).toBe(3)
  })

  describe('a window across a boundary of the 2.8-hour prefixes', () => {
    // The newest 40 entries sort under one prefix, the other 60 under the next (older) one. Few
    // entries: the point is the number of prefixes, and every test file ends scanning all it wrote.
    const boundary = Date.parse('2026-06-15T10:40:00Z')
    const straddleNewest = boundary + 39_500
    const straddleFrom = straddleNewest - 100 * 1000
    let straddling: AuditEntry[] = []
    const straddlingWindow = (extra: Record<string, string | number> = {}) => ({
      from: new Date(straddleFrom).toISOString(),
      to: new Date(straddleNewest).toISOString(),
      ...extra,
    })

    beforeAll(async () => {
      straddling = await seed(100, straddleNewest)
    })

    it('is seeded across the boundary', () => {
      expect(rev(boundary).slice(0, 6)).toBe(rev(straddleNewest).slice(0, 6))
      expect(rev(boundary - 1).slice(0, 6)).toBe(rev(straddleFrom).slice(0, 6))
      expect(rev(boundary).slice(0, 6)).not.toBe(rev(boundary - 1).slice(0, 6))
    })

    it('costs one list() per prefix it reaches: two, however few the entries, and no get()', async () => {
      const { kv, calls } = counting()
      const { body } = await query(straddlingWindow({ limit: 1000 }), { env: { AUDIT: kv } })
      expect(ids(body.result)).toEqual(ids(straddling))
      expect(calls.get ?? 0).toBe(0)
      expect(calls.getWithMetadata ?? 0).toBe(0)
      expect(calls.list).toBe(2)
    })

    it('exports them with the same two list() calls', async () => {
      const { kv, calls } = counting()
      const response = await call(
        `${AUDIT_URL}/export?${new URLSearchParams(straddlingWindow())}`,
        { key: KEYS.auditor, env: { AUDIT: kv } },
      )
      const lines = (await exportText(response)).trimEnd().split('\n')
      expect(lines).toHaveLength(101)
      expect(JSON.parse(lines[100]!)).toMatchObject({ complete: true, count: 100 })
      expect(calls.get ?? 0).toBe(0)
      expect(calls.list).toBe(2)
    })
  })
})

describe('export', () => {
  it('streams NDJSON: the same entries as the query, with their signed KV form', async () => {
    const response = await call(`${AUDIT_URL}/export?${new URLSearchParams(window())}`, {
      key: KEYS.auditor,
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
    expect(response.body).toBeInstanceOf(ReadableStream)
    const lines = (await exportText(response))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.pop()).toMatchObject({
      complete: true,
      count: small.length,
      sig: expect.any(String),
    })
    expect(lines.map(({ _kv: _, ...entry }) => entry)).toEqual(small)
    expect(lines[0]._kv).toMatchObject({
      key: expect.stringMatching(/^v1:e:\d{13}:/),
      metadata: { sig: expect.any(String), seal: expect.any(String), vh: expect.any(String) },
    })
  })

  it('streams CSV with a header, one row per entry, formulas defused', async () => {
    const response = await call(
      `${AUDIT_URL}/export?${new URLSearchParams(window({ format: 'csv', certificate: CERTS[0]! }))}`,
      { key: KEYS.auditor },
    )
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/)
    const rows = (await exportText(response)).trimEnd().split('\r\n')
    const expected = small.filter((e) => e.certificate_id === CERTS[0])
    expect(rows).toHaveLength(expected.length + 2)
    expect(rows.at(-1)).toBe(`# complete; ${expected.length} entries`)
    expect(rows[0]!.split(',').slice(0, 4)).toEqual(['time', 'id', 'kind', 'request_id'])
    expect(rows[1]!.startsWith(`${expected[0]!.time},${expected[0]!.id},request,`)).toBe(true)
    // A spreadsheet must not run a caller-chosen certificate name as a formula.
    expect(rows[1]).toContain(`"'=HYPERLINK(""http://x.example/`)
    expect(rows.slice(1, -1).join('\n')).not.toMatch(/(^|,)=/m)
  })

  it('stops at the limit and says where to continue', async () => {
    const response = await call(
      `${AUDIT_URL}/export?${new URLSearchParams(window({ limit: 5 }))}`,
      {
        key: KEYS.auditor,
      },
    )
    const lines = (await exportText(response))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(6)
    expect(lines[5]).toMatchObject({ complete: false, count: 5, next_cursor: expect.any(String) })
    const rest = await query(window({ limit: 1000, cursor: lines[5].next_cursor }))
    expect(ids(rest.body.result)).toEqual(ids(small.slice(5)))
  })
})

describe('access and validation', () => {
  it.each([
    ['alice (developer)', KEYS.alice, 403, 18301],
    ['no key', null, 401, 18001],
  ])('refuses %s', async (_, key, status, code) => {
    for (const path of ['', '/export', '/verify']) {
      const { status: got, body } = await callJson(`${AUDIT_URL}${path}`, { key })
      expect(got).toBe(status)
      expect(body.errors[0]!.code).toBe(code)
    }
  })

  it('lets an admin read', async () => {
    expect((await query(window({ limit: 1 }), { key: KEYS.admin })).status).toBe(200)
  })

  it.each([
    [{ colour: 'red' }, '/colour'],
    [{ outcome: 'fine' }, '/outcome'],
    [{ limit: 0 }, '/limit'],
    [{ from: 'yesterday' }, '/from'],
    [{ from: '2030-01-01T00:00:00Z', to: '2029-01-01T00:00:00Z' }, '/from'],
    [{ request_id: 'abc' }, '/request_id'],
  ])('refuses %j with 18103 at its pointer', async (params, pointer) => {
    const { status, body } = await query(params as Record<string, string>)
    expect(status).toBe(400)
    expect(body.errors).toContainEqual(
      expect.objectContaining({ code: 18103, source: { pointer } }),
    )
  })
})
