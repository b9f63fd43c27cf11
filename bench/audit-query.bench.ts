/**
 * Writes 10,000 audit entries (one day of traffic, the gateway's own write path) into local KV, then
 * runs review queries through the gateway with a binding that counts KV calls, and prints the
 * list()/get() counts and wall time of each. The counts are the point: they are what KV bills and
 * limits (1000 operations per invocation); local times only compare queries with each other.
 */
import { env } from 'cloudflare:test'
import { beforeAll, expect, it } from 'vitest'
import type { AuditEntry } from '../src/audit/entry'
import { writeEntry } from '../src/audit/store'
import { uuidv7 } from '../src/lib/uuidv7'
import { call } from '../test/support/gateway'
import { ACCOUNT, AUDIT_SIGNING_KEY, KEYS } from '../test/support/identities'
import { counting } from '../test/support/kv'

const N = 10_000
const DAY = 86_400_000
const AUDIT_URL = 'https://gateway.test/gateway/v1/audit'
const now = Date.now()
const OUTCOMES = ['allowed', 'allowed', 'invalid', 'upstream_error'] as const
let entries: AuditEntry[] = []

function entry(i: number): AuditEntry {
  const time = now - 60_000 - Math.floor((i * DAY) / N)
  const id = uuidv7(time)
  const team = ['payments', 'identity', 'platform', 'search'][i % 4]!
  return {
    kind: 'request',
    id,
    time: new Date(time).toISOString(),
    request_id: id,
    member: `${team}-${i % 7}`,
    team,
    via: 'key',
    action: ['list', 'get', 'associations', 'upload', 'delete'][i % 5]!,
    account_id: ACCOUNT,
    ...(i % 5
      ? { certificate_id: `00000000-0000-4000-8000-${String(i % 50).padStart(12, '0')}` }
      : {}),
    outcome: { class: OUTCOMES[i % 4]!, status: [200, 200, 400, 502][i % 4]!, error_codes: [] },
    latency_ms: 20 + (i % 100),
    upstream_attempts: 1,
  }
}

beforeAll(async () => {
  entries = Array.from({ length: N }, (_, i) => entry(i))
  const started = performance.now()
  for (let i = 0; i < N; i += 100) {
    await Promise.all(
      entries
        .slice(i, i + 100)
        .map((e) =>
          writeEntry(env.AUDIT, e, { signingKey: AUDIT_SIGNING_KEY, retentionDays: 365 }),
        ),
    )
  }
  console.log(`wrote ${N} entries in ${Math.round(performance.now() - started)} ms`)
})

interface Row {
  query: string
  returned: number
  pages: number
  list: number
  get: number
  ms: number
}
const rows: Row[] = []

/** Follows the cursor to the end (or `maxPages`), counting KV calls across all pages. */
async function measure(name: string, params: Record<string, string>, maxPages = 100) {
  const { kv, calls } = counting()
  const started = Date.now()
  let returned = 0
  let pages = 0
  let cursor: string | null = null
  do {
    const search = new URLSearchParams({ ...params, ...(cursor ? { cursor } : {}) })
    const response = await call(`${AUDIT_URL}?${search}`, { key: KEYS.auditor, env: { AUDIT: kv } })
    const body = (await response.json()) as {
      result: unknown[]
      result_info: { cursor: string | null }
    }
    returned += body.result.length
    cursor = body.result_info.cursor
    pages++
  } while (cursor && pages < maxPages)
  const get = (calls.get ?? 0) + (calls.getWithMetadata ?? 0)
  rows.push({ query: name, returned, pages, list: calls.list ?? 0, get, ms: Date.now() - started })
  return { returned, list: calls.list ?? 0, get }
}

async function measureExport(name: string, params: Record<string, string>) {
  const { kv, calls } = counting()
  const started = Date.now()
  const response = await call(`${AUDIT_URL}/export?${new URLSearchParams(params)}`, {
    key: KEYS.auditor,
    env: { AUDIT: kv },
  })
  const lines = new TextDecoder()
    .decode(await response.arrayBuffer())
    .trimEnd()
    .split('\n')
  const get = (calls.get ?? 0) + (calls.getWithMetadata ?? 0)
  rows.push({
    query: name,
    returned: lines.length,
    pages: 1,
    list: calls.list ?? 0,
    get,
    ms: Date.now() - started,
  })
  return { returned: lines.length, list: calls.list ?? 0, get }
}

it('measures queries over 10,000 entries', async () => {
  const all = await measure('all, newest first, limit 1000, every page', { limit: '1000' })
  // The first page is listed before its own request is recorded, and later pages only go older.
  // The one entry more is the policy's bootstrap (issue 20), recorded by that first request.
  expect(all.returned).toBe(N + 1)
  await measure('newest 100 (one page)', { limit: '100' }, 1)
  await measureExport('export NDJSON, everything', {})
  await measureExport('export CSV, everything', { format: 'csv' })
  await measure('team=identity (scanned), limit 1000', { team: 'identity', limit: '1000' })
  await measure('certificate=<one of 50> (scanned)', {
    certificate: '00000000-0000-4000-8000-000000000007',
    limit: '1000',
  })
  await measure('outcome=upstream_error (scan), limit 1000', {
    outcome: 'upstream_error',
    limit: '1000',
  })
  await measure('request_id=<one>', { request_id: entries[4321]!.id })
  await measure('6 h window ending 12 h ago', {
    from: new Date(now - 18 * 3_600_000).toISOString(),
    to: new Date(now - 12 * 3_600_000).toISOString(),
    limit: '1000',
  })
  const header = 'query'.padEnd(46) + 'returned  pages  list()  get()     ms'
  const lines = rows.map(
    (r) =>
      r.query.padEnd(46) +
      String(r.returned).padStart(8) +
      String(r.pages).padStart(7) +
      String(r.list).padStart(8) +
      String(r.get).padStart(7) +
      String(r.ms).padStart(7),
  )
  console.log([header, ...lines].join('\n'))
  // The same rows for bench/run.ts, which puts them in bench/REPORT.md.
  console.log(`AUDIT_QUERIES ${JSON.stringify(rows)}`)
  for (const row of rows) expect(row.get).toBe(0)
})
