/**
 * KV operations per route: each route called through the gateway inside workerd (the emulator as
 * its upstream, the real coordinator), with every KV binding of the gateway wrapped in one that
 * counts calls, and the response's `waitUntil` work awaited, so that bookkeeping done after the
 * answer counts too. Reads are get/getWithMetadata/list, writes put/delete. The counts are what
 * KV bills and limits (free plan: 1000 writes a day); `npm run bench` puts the table it prints
 * in bench/REPORT.md.
 *
 * Who calls: the admin reads (the seeded certificates have no owner, and only account-wide roles
 * see those), alice (a developer) uploads with a private key, bob (her team's lead) deletes what
 * she uploaded: the same callers as the load runs.
 */
import { env } from 'cloudflare:test'
import { expect, it } from 'vitest'
import { makeCertificate } from '../test/kit/certificates'
import { emulator } from '../test/support/emulator'
import { call, certificatesUrl, certificateUrl } from '../test/support/gateway'
import { ACCOUNT, KEYS } from '../test/support/identities'
import { counting } from '../test/support/kv'

const READS = ['get', 'getWithMetadata', 'list']
const WRITES = ['put', 'delete']
const CALLS_PER_ROUTE = 3

interface Row {
  route: string
  reads: number
  writes: number
  byBinding: string
}

const rows: Row[] = []

const isKv = (value: unknown): value is KVNamespace =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as KVNamespace).list === 'function' &&
  typeof (value as KVNamespace).getWithMetadata === 'function'

/** Calls `request` CALLS_PER_ROUTE times and records the KV calls of the last (warm) one. */
async function measure(
  route: string,
  request: () => Promise<{ url: string; init: RequestInit; key: string }>,
) {
  let last: Record<string, Record<string, number>> = {}
  for (let i = 0; i < CALLS_PER_ROUTE; i++) {
    const { url, init, key } = await request()
    const counted = Object.fromEntries(
      Object.entries(env)
        .filter(([, value]) => isKv(value))
        .map(([name, value]) => [name, counting(value as KVNamespace)]),
    )
    const overrides = Object.fromEntries(Object.entries(counted).map(([name, c]) => [name, c.kv]))
    const response = await call(url, { ...init, key, env: overrides })
    expect(response.status, `${route}: ${await response.text()}`).toBe(200)
    last = Object.fromEntries(Object.entries(counted).map(([name, c]) => [name, c.calls]))
  }
  const sum = (methods: string[]) =>
    Object.values(last).reduce(
      (total, calls) => total + methods.reduce((n, m) => n + (calls[m] ?? 0), 0),
      0,
    )
  const byBinding = Object.entries(last)
    .filter(([, calls]) => Object.keys(calls).length > 0)
    .map(
      ([name, calls]) =>
        `${name}: ${Object.entries(calls)
          .map(([method, n]) => `${n} ${method}`)
          .join(', ')}`,
    )
    .join('; ')
  rows.push({ route, reads: sum(READS), writes: sum(WRITES), byBinding: byBinding || 'none' })
}

async function seed(count: number) {
  for (let i = 0; i < count; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, async () => {
        const made = await makeCertificate()
        await emulator.seedCertificate(ACCOUNT, {
          ca: false,
          certificates: made.pem,
          type: 'custom',
        })
      }),
    )
  }
}

async function uploadBody() {
  const made = await makeCertificate()
  return JSON.stringify({ ca: false, certificates: made.pem, private_key: made.keyPem, name: 'kv' })
}

const json = { 'content-type': 'application/json' }

it('counts KV operations per route', async () => {
  await emulator.reset()
  await emulator.setLimits({ requests_per_window: 1_000_000 })
  const list = async () => ({ url: certificatesUrl(), init: {}, key: KEYS.admin })
  let seeded = 0
  for (const size of [10, 100, 1000]) {
    await seed(size - seeded)
    seeded = size
    await measure(`list (${size} certificates)`, list)
  }
  const listed = (await (await call(certificatesUrl())).json()) as { result: { id: string }[] }
  const id = listed.result[0]!.id
  await emulator.setAssociations(id, [{ service: 'gateway', status: 'active' }])
  await measure('get', async () => ({ url: certificateUrl(id), init: {}, key: KEYS.admin }))
  await measure('associations', async () => ({
    url: `${certificateUrl(id)}/associations`,
    init: {},
    key: KEYS.admin,
  }))
  await measure('upload (with a private key)', async () => ({
    url: certificatesUrl(),
    init: { method: 'POST', headers: json, body: await uploadBody() },
    key: KEYS.alice,
  }))
  await measure('delete', async () => {
    const uploaded = await call(certificatesUrl(), {
      method: 'POST',
      headers: json,
      body: await uploadBody(),
      key: KEYS.alice,
    })
    const { result } = (await uploaded.json()) as { result: { id: string } }
    return { url: certificateUrl(result.id), init: { method: 'DELETE' }, key: KEYS.bob }
  })
  console.log(`KV_OPS ${JSON.stringify(rows)}`)
  const header = 'route'.padEnd(32) + 'reads  writes  per binding'
  const lines = rows.map(
    (r) =>
      r.route.padEnd(32) +
      String(r.reads).padStart(5) +
      String(r.writes).padStart(8) +
      '  ' +
      r.byBinding,
  )
  console.log([header, ...lines].join('\n'))
})
