/**
 * `npm run bench:cpu`: the CPU the gateway's own code spends on a certificate list, in Node, in
 * process: the real app (`buildGateway`), a fake upstream (a canned list answer of 10, 100 or 1,000
 * certificates) and in-memory stand-ins for KV and the coordinator, so that nothing but the
 * gateway's JavaScript (and the libraries it calls) runs on the measured thread. No wrangler, no
 * miniflare, no sockets: the figures are what V8 spends on the request, which is what workerd
 * bills, minus its runtime's C++.
 *
 * Per list size and state it reports the process CPU per request (`process.cpuUsage`, over
 * BENCH_CPU_REQUESTS sequential requests after a warm-up) and, from V8's sampling profiler (the
 * inspector, 50 µs), where that time goes: each sample is charged to the nearest frame of the
 * project's own code on its stack (src/<folder>/<file>), so "upstream/port.ts" is everything the
 * port's code ran, zod included. Samples with no project frame are the framework's and the
 * runtime's (Hono's routing, Response, the fake fetch).
 *
 *   BENCH_CPU_REQUESTS   requests per measurement (default 40)
 *   BENCH_CPU_PROFILE=0  skip the stage breakdown
 *   BENCH_CPU_JSON=file  also write the figures as JSON
 *
 * States: `admin` reads every certificate (none owned); `developer` (alice) reads an account where
 * half are owned by her team and half by another; `adoption` is the developer with live upload
 * intents and every certificate unowned and created inside their windows, so that each is a
 * candidate whose PEM must be read (the worst case for ownership/reconcile.ts); `adoption, cold`
 * the same with new certificate ids on every request, as a fresh isolate sees them (nothing read
 * before).
 *
 * Each request's CPU is taken on its own (`process.cpuUsage` around it, its `waitUntil` work
 * included) and the median reported, with the 90th percentile: the machine is shared, and a
 * median shrugs off the requests another process preempted.
 */
import { timingSafeEqual } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import path from 'node:path'
import { buildGateway } from '../src/app'

const ROOT = path.resolve(import.meta.dirname, '..')
const REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 40)
const PROFILE = process.env.BENCH_CPU_PROFILE !== '0'
const SIZES = [10, 100, 1000] as const
const ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'
const KEYS = {
  admin: 'mtlsgw_DEMO_platform_admin_xxxxxxxxxxxxxxxxxxxxxxx',
  alice: 'mtlsgw_DEMO_payments_alice_xxxxxxxxxxxxxxxxxxxxxxx',
}
const PEM = readFileSync(path.join(ROOT, 'test/fixtures/example-ca.pem'), 'utf8')

type State = 'admin' | 'developer' | 'adoption' | 'adoption, cold'

// workerd's extension to Web Crypto (identity/authenticate.ts compares key hashes with it).
Object.assign(crypto.subtle, {
  timingSafeEqual: (a: ArrayBuffer | ArrayBufferView, b: ArrayBuffer | ArrayBufferView) =>
    timingSafeEqual(bytes(a), bytes(b)),
})
function bytes(buffer: ArrayBuffer | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer)
}

// ---- the world around the gateway -------------------------------------------------------------

/** A list answer as the upstream gives it: every documented field, the PEM included. */
function listBody(size: number, uploadedOn: string, generation: number): string {
  const result = Array.from({ length: size }, (_, i) => ({
    id: `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${generation.toString(16).padStart(12, '0')}`,
    name: `bench-${i}`,
    ca: i % 10 === 0,
    certificates: PEM,
    issuer: 'CN=example',
    serial_number: String(1_000_000 + i),
    signature: 'ECDSAWithSHA256',
    expires_on: '2030-01-01T00:00:00Z',
    type: 'custom',
    uploaded_on: uploadedOn,
  }))
  return JSON.stringify({
    success: true,
    errors: [],
    messages: [],
    result,
    result_info: { page: 1, per_page: size, count: size, total_count: size, total_pages: 1 },
  })
}

interface World {
  body: string
  owners: Map<string, string>
  intents: { bundle_sha256: string; at_ms: number }[]
}

/** The coordinator's methods the list path calls, answered from `world` (no SQL, no RPC). */
function coordinatorFor(world: () => World) {
  let seq = 0
  const instance = {
    owners: () => ({ owners: world().owners, intents: world().intents }),
    intents: () => world().intents,
    owner: () => null,
    adopt: () => [],
    lease: (ask: { want: number }) => ({
      kind: 'lease',
      granted: ask.want,
      id: `lease-${seq}`,
      expiresMs: Date.now() + 5_000,
    }),
    appendAudit: async (chain: string) => ({ chain, seq: ++seq, prev: 'x'.repeat(43) }),
  }
  return {
    idFromName: (name: string) => name,
    get: () =>
      new Proxy(instance, {
        get(target, name) {
          if (name in target) return target[name as keyof typeof target]
          if (name === 'then') return undefined
          throw new Error(`bench coordinator: ${String(name)} is not stubbed`)
        },
      }),
  }
}

function memoryKv() {
  const values = new Map<string, string>()
  return {
    async put(key: string, value: string) {
      values.set(key, value)
    },
    async get(key: string) {
      return values.get(key) ?? null
    },
    async getWithMetadata(key: string) {
      return { value: values.get(key) ?? null, metadata: null }
    },
    async list() {
      return { keys: [], list_complete: true, cacheStatus: null }
    },
    async delete(key: string) {
      values.delete(key)
    },
    clear: () => values.clear(),
  }
}

let generations = 0

function worldFor(state: State, size: number): World {
  const now = Date.now()
  const body = listBody(size, new Date(now - 1_000).toISOString(), generations++)
  const ids = (JSON.parse(body) as { result: { id: string }[] }).result.map((c) => c.id)
  const owners = new Map<string, string>()
  if (state === 'developer') {
    ids.forEach((id, i) => owners.set(id, i % 2 === 0 ? 'payments' : 'identity'))
  }
  // Intents whose bundle matches nothing listed: every certificate is a candidate to read, none is
  // adopted, so the state stays the same from one request to the next.
  const intents =
    state === 'adoption' || state === 'adoption, cold'
      ? [{ request_id: 'r', team: 'payments', bundle_sha256: 'none', at_ms: now - 2_000 }]
      : []
  return { body, owners, intents }
}

// ---- measuring ------------------------------------------------------------------------------

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const IDLE = new Set(['(idle)', '(program)', '(root)'])

/** Microseconds per stage: each sample charged to its nearest src/ frame, else to "framework". */
function stagesOf(profile: Profile): { stages: Map<string, number>; leaves: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id)
  const stages = new Map<string, number>()
  const leaves = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, us: number) =>
    map.set(key, (map.get(key) ?? 0) + us)
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0
    const leaf = byId.get(id)!
    if (IDLE.has(leaf.callFrame.functionName)) return
    const where = leaf.callFrame.url.replace(/^.*\/(node_modules|src)\//, '$1/')
    add(
      leaves,
      `${leaf.callFrame.functionName || '(anonymous)'} ${where}:${leaf.callFrame.lineNumber + 1}`,
      us,
    )
    let stage = leaf.callFrame.url === '' ? 'runtime (GC, native)' : 'framework (no src frame)'
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const match = /\/src\/(.+)$/.exec(byId.get(at)!.callFrame.url)
      if (match) {
        stage = match[1]!
        break
      }
    }
    add(stages, stage, us)
  })
  return { stages, leaves }
}

interface Figure {
  state: State
  size: number
  cpuMs: number
  p90Ms: number
  stagesMs: Record<string, number>
  topLeavesMs: Record<string, number>
}

async function main() {
  let world = worldFor('admin', 10)
  const env = {
    CLOUDFLARE_API_TOKEN: 'bench-token',
    POLICY: readFileSync(path.join(ROOT, 'demo/policy.json'), 'utf8'),
    UPSTREAM_BASE_URL: 'http://127.0.0.1:8788/client/v4',
    AUDIT: memoryKv(),
    COORDINATOR: coordinatorFor(() => world),
    AUDIT_SIGNING_KEY: 'bench-signing-key-bench-signing-key-0123',
  }
  // The upstream: every call answers the current world's list.
  globalThis.fetch = async () =>
    new Response(world.body, { status: 200, headers: { 'content-type': 'application/json' } })

  const app = buildGateway()
  const url = `http://gateway.test/client/v4/accounts/${ACCOUNT}/mtls_certificates`
  async function once(key: string): Promise<void> {
    const pending: Promise<unknown>[] = []
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void pending.push(p),
      passThroughOnException() {},
    }
    const response = await app.fetch(
      new Request(url, { headers: { authorization: `Bearer ${key}` } }),
      env,
      ctx as never,
    )
    const text = await response.text()
    await Promise.all(pending)
    if (response.status !== 200) throw new Error(`list answered ${response.status}: ${text}`)
  }

  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 50 })

  const figures: Figure[] = []
  for (const state of ['admin', 'developer', 'adoption', 'adoption, cold'] as const) {
    for (const size of SIZES) {
      world = worldFor(state, size)
      const key = state === 'admin' ? KEYS.admin : KEYS.alice
      for (let i = 0; i < 10; i++) await once(key) // warm-up: JIT, caches
      env.AUDIT.clear()

      const perRequest: number[] = []
      for (let i = 0; i < REQUESTS; i++) {
        if (state === 'adoption, cold') world = worldFor(state, size)
        const before = process.cpuUsage()
        await once(key)
        const used = process.cpuUsage(before)
        perRequest.push((used.user + used.system) / 1000)
      }
      perRequest.sort((a, b) => a - b)
      const cpuMs = perRequest[Math.floor(REQUESTS / 2)]!
      const p90Ms = perRequest[Math.floor(REQUESTS * 0.9)]!

      const figure: Figure = { state, size, cpuMs, p90Ms, stagesMs: {}, topLeavesMs: {} }
      if (PROFILE) {
        await session.post('Profiler.start')
        for (let i = 0; i < REQUESTS; i++) {
          if (state === 'adoption, cold') world = worldFor(state, size)
          await once(key)
        }
        const { profile } = (await session.post('Profiler.stop')) as { profile: Profile }
        const { stages, leaves } = stagesOf(profile)
        const perRequest = (us: number) => Math.round((us / 1000 / REQUESTS) * 100) / 100
        for (const [stage, us] of [...stages].sort((a, b) => b[1] - a[1])) {
          figure.stagesMs[stage] = perRequest(us)
        }
        for (const [leaf, us] of [...leaves].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
          figure.topLeavesMs[leaf] = perRequest(us)
        }
      }
      env.AUDIT.clear()
      figures.push(figure)
      print(figure)
    }
  }
  session.disconnect()
  if (process.env.BENCH_CPU_JSON) {
    writeFileSync(process.env.BENCH_CPU_JSON, JSON.stringify(figures, null, 2))
  }
}

function print(figure: Figure) {
  console.log(
    `\n${figure.state}, ${figure.size} certificates: ${figure.cpuMs.toFixed(2)} ms CPU per request (median; p90 ${figure.p90Ms.toFixed(2)} ms)`,
  )
  for (const [stage, ms] of Object.entries(figure.stagesMs)) {
    if (ms >= 0.02) console.log(`  ${ms.toFixed(2).padStart(7)} ms  ${stage}`)
  }
  if (Object.keys(figure.topLeavesMs).length > 0) console.log('  hottest functions (self time):')
  for (const [leaf, ms] of Object.entries(figure.topLeavesMs)) {
    console.log(`  ${ms.toFixed(2).padStart(7)} ms  ${leaf}`)
  }
}

await main()
