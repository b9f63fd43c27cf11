/**
 * `npm run bench:cpu`: the CPU the gateway's own code spends on a request, in Node, in process:
 * the real app (`buildGateway`), a fake upstream (canned answers, in the upstream's shapes) and
 * in-memory stand-ins for KV and the coordinator, so that nothing but the gateway's JavaScript
 * (and the libraries it calls) runs on the measured thread. No wrangler, no miniflare, no sockets:
 * the figures are what V8 spends on the request, which is what workerd bills, minus its runtime's
 * C++.
 *
 * Per route and state it reports the process CPU per request (`process.cpuUsage`, over
 * BENCH_CPU_REQUESTS sequential requests after a warm-up) and, from V8's sampling profiler (the
 * inspector, 50 µs), where that time goes: each sample is charged to the nearest frame of the
 * project's own code on its stack (src/<folder>/<file>), so "upstream/port.ts" is everything the
 * port's code ran, zod included. Samples with no project frame are the framework's and the
 * runtime's (Hono's routing, Request and Response); samples in this file's stand-ins (the fake
 * fetch, KV, the coordinator), and what they call, are "bench stand-ins": what workerd's fetch,
 * KV and RPC would do instead, not the gateway's work.
 *
 *   BENCH_CPU_REQUESTS   requests per measurement (default 40, at most 499: each delete removes
 *                        one of the 499 certificates payments owns that have no associations)
 *   BENCH_CPU_PROFILE=0  skip the stage breakdown
 *   BENCH_CPU_JSON=file  also write the figures as JSON
 *   BENCH_CPU_ONLY=text  only the cases whose "route, state" contains it
 *
 * The list, for 10, 100 and 1,000 certificates: `admin` reads every certificate (none owned);
 * `developer` (alice) reads an account where half are owned by her team and half by another;
 * `adoption` is the developer with live upload intents and every certificate unowned and created
 * inside their windows, so that each is a candidate whose PEM must be read (the worst case for
 * ownership/reconcile.ts); `adoption, cold` the same with new certificate ids on every request, as
 * a fresh isolate sees them (nothing read before).
 *
 * The other four routes, in the common case, in an account of 1,000 leaf certificates, half owned
 * by payments and half by identity (each with its ledger record): `get` and `associations` (two
 * associations) of a certificate payments owns, read by alice (payments, developer); `upload` of a
 * new leaf with its PKCS#8 key by alice (a distinct certificate per request, all made before);
 * `delete` by bob (payments, lead) of a certificate payments owns with no associations (a
 * different one per request: the gateway's own delete releases it from the ledger). And uploads of
 * 64 KiB of adversarial PEM (`adversarial PEM: ...`), refused with 400 / 18120, whose median CPU
 * must stay under 10 ms or the bench fails: the PEM reader's bound (src/lib/pem.ts).
 *
 * Everything a request needs (its Request, its upstream answers, the certificates it uploads, the
 * ledger entries it reads or removes) is made before the measured requests run, and what they did
 * (status, answer, ledger) is checked after them. Each request's CPU is taken on its own
 * (`process.cpuUsage` around it, its `waitUntil` work included) and the median reported, with the
 * 90th percentile: the machine is shared, and a median shrugs off the requests another process
 * preempted. Node's Web Crypto runs on libuv's thread pool: `process.cpuUsage` counts it (workerd
 * runs it on the request's thread), the profiler does not see it.
 */
import { timingSafeEqual } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import path from 'node:path'
import { buildGateway } from '../src/app'
import type { IntentSummary, Ownership, UploadIntent } from '../src/ownership/ledger'
import { itemOf, type SnapshotItem } from '../src/snapshot/shapes'
import { makeCertificate, type MadeCertificate } from '../test/kit/certificates'
import { AUDIT_ED25519_PRIVATE_KEY } from '../test/support/identities'

const ROOT = path.resolve(import.meta.dirname, '..')
const REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 40)
const PROFILE = process.env.BENCH_CPU_PROFILE !== '0'
/** Only the cases whose "route, state" contains this (BENCH_CPU_ONLY=adversarial, say). */
const ONLY = process.env.BENCH_CPU_ONLY
const WARM_UP = 10
const SIZES = [10, 100, 1000] as const
/** The certificates in the account the other routes act on. */
const ACCOUNT_SIZE = 1000
const ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'
/** The demo keys (docs/api.md, "Calling the gateway"; demo/policy.json has their hashes). */
const KEYS = {
  admin: 'mtlsgw_DEMO_platform_admin_xxxxxxxxxxxxxxxxxxxxxxx', // account-wide
  alice: 'mtlsgw_DEMO_payments_alice_xxxxxxxxxxxxxxxxxxxxxxx', // payments developer: reads, uploads
  bob: 'mtlsgw_DEMO_payments_bob_xxxxxxxxxxxxxxxxxxxxxxxxx', // payments lead: deletes
}
const PEM = readFileSync(path.join(ROOT, 'test/fixtures/example-ca.pem'), 'utf8')
const COLLECTION = `http://gateway.test/client/v4/accounts/${ACCOUNT}/mtls_certificates`

if (!Number.isInteger(REQUESTS) || REQUESTS < 1 || REQUESTS > ACCOUNT_SIZE / 2 - 1) {
  throw new Error(`BENCH_CPU_REQUESTS must be an integer from 1 to ${ACCOUNT_SIZE / 2 - 1}`)
}

type ListState = 'admin' | 'developer' | 'adoption' | 'adoption, cold'
type RouteName = 'list' | 'get' | 'associations' | 'upload' | 'delete'

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

/** A certificate as the upstream gives it: every documented field, the PEM included. */
interface UpstreamCertificate {
  id: string
  name: string
  ca: boolean
  certificates: string
  issuer: string
  serial_number: string
  signature: string
  expires_on: string
  type: 'custom'
  uploaded_on: string
}

/** The upstream's envelope (upstream-contract.md §1; emulator/src/envelope.ts). */
function envelope(result: unknown, resultInfo?: { count: number; per_page: number }): string {
  return JSON.stringify({
    success: true,
    errors: [],
    messages: [],
    result,
    ...(resultInfo === undefined
      ? {}
      : {
          result_info: {
            page: 1,
            per_page: resultInfo.per_page,
            count: resultInfo.count,
            total_count: resultInfo.count,
            total_pages: 1,
          },
        }),
  })
}

const certificateId = (i: number, generation: number) =>
  `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${generation.toString(16).padStart(12, '0')}`

/** A list answer of `size` certificates (the example CA's PEM, every tenth one a CA). */
function listBody(size: number, uploadedOn: string, generation: number): string {
  const result: UpstreamCertificate[] = Array.from({ length: size }, (_, i) => ({
    id: certificateId(i, generation),
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
  return envelope(result, { count: size, per_page: size })
}

/** What the upstream says of a certificate it made from `made` (emulator/src/upload.ts). */
function describe(made: MadeCertificate, id: string, name: string, at: Date): UpstreamCertificate {
  return {
    id,
    name,
    ca: false,
    certificates: made.pem.replace(/(\r?\n)+$/, ''),
    issuer: made.cert.issuer,
    serial_number: BigInt(`0x${made.cert.serialNumber}`).toString(10),
    signature: 'ECDSAWithSHA256',
    expires_on: made.cert.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    type: 'custom',
    uploaded_on: at.toISOString(),
  }
}

interface World {
  /** The list answers: request n gets list n (mod their number); one for a state that keeps. */
  lists: string[]
  listCalls: number
  /** The ledger: owning team per id, and each owned certificate's record. */
  owners: Map<string, string>
  records: Map<string, Ownership>
  /** Live intents, as the list's adoption sees them. */
  intents: IntentSummary[]
  /** Upload intents recorded and not yet confirmed or cleared, by request id. */
  uploading: Map<string, UploadIntent>
  /** The upstream's answer to a GET or a DELETE of each certificate, by id. */
  certificates: Map<string, string>
  /** The upstream's associations answers, by id; the others have none. */
  associations: Map<string, string>
  /** The answers to the uploads to come, in order, and the bodies the gateway forwarded. */
  uploads: string[]
  uploadCalls: number
  forwarded: string[]
}

const NO_ASSOCIATIONS = envelope([], { count: 0, per_page: 20 })

function emptyWorld(): World {
  return {
    lists: [envelope([], { count: 0, per_page: 50 })],
    listCalls: 0,
    owners: new Map(),
    records: new Map(),
    intents: [],
    uploading: new Map(),
    certificates: new Map(),
    associations: new Map(),
    uploads: [],
    uploadCalls: 0,
    forwarded: [],
  }
}

/**
 * The upstream, answering what the gateway asks of the current world: a list, a certificate
 * (GET, DELETE), its associations, or an upload's created certificate. Anything else is a 404 in
 * the upstream's envelope (1472: Certificate not found).
 */
function fakeUpstream(world: () => World) {
  const json = (body: string, status = 200) =>
    new Response(body, { status, headers: { 'content-type': 'application/json' } })
  const notFound = JSON.stringify({
    success: false,
    errors: [{ code: 1472, message: 'Certificate not found' }],
    messages: [],
    result: null,
  })
  return async function fakeFetch(input: RequestInfo | URL, init?: RequestInit) {
    const now = world()
    const url = typeof input === 'string' ? input : String(input)
    const method = init?.method ?? 'GET'
    const at = url.indexOf('/mtls_certificates')
    const rest = url.slice(at + '/mtls_certificates'.length).replace(/\?.*$/, '')
    if (rest === '') {
      if (method === 'GET') return json(now.lists[now.listCalls++ % now.lists.length]!)
      if (method === 'POST') {
        now.forwarded.push(String(init?.body))
        const answer = now.uploads[now.uploadCalls++]
        return answer === undefined ? json(notFound, 404) : json(answer)
      }
    }
    if (rest.endsWith('/associations') && method === 'GET') {
      const id = rest.slice(1, -'/associations'.length)
      if (!now.certificates.has(id)) return json(notFound, 404)
      return json(now.associations.get(id) ?? NO_ASSOCIATIONS)
    }
    const answer = now.certificates.get(rest.slice(1))
    if (answer === undefined || (method !== 'GET' && method !== 'DELETE')) {
      return json(notFound, 404)
    }
    if (method === 'DELETE') now.certificates.delete(rest.slice(1))
    return json(answer)
  }
}

/** Issue 21: a list answer as the snapshot holds it (memoised: the coordinator's work). */
const snapshots = new Map<string, { items: SnapshotItem[]; frame: string }>()
function snapshotOf(text: string) {
  let known = snapshots.get(text)
  if (known === undefined) {
    const envelope = JSON.parse(text) as { result: { id: string }[] }
    // As snapshot/serve.ts frameOf stores it: every member in its place, the result as null.
    const frame = JSON.stringify({ ...envelope, result: null })
    known = { items: envelope.result.map((c) => itemOf(c)), frame }
    snapshots.set(text, known)
  }
  return known
}
const freshView = (items: SnapshotItem[], frame: string) => ({
  state: 'fresh',
  revision: 1,
  fetchedAtMs: Date.now(),
  frame,
  items,
  claim: null,
  revalidating: false,
})

/** The coordinator's methods the five routes call, answered from `world` (no SQL, no RPC). */
function coordinatorFor(world: () => World) {
  let seq = 0
  const instance = {
    owners: () => ({ owners: world().owners, intents: world().intents }),
    intents: () => world().intents,
    owner: (id: string) => world().records.get(id) ?? null,
    adopt: () => [],
    releaseOwner: (id: string) => {
      world().owners.delete(id)
      world().records.delete(id)
    },
    recordIntent: (intent: UploadIntent) => {
      world().uploading.set(intent.request_id, intent)
      return { admitted: true, used: 0 }
    },
    clearIntent: (requestId: string) => void world().uploading.delete(requestId),
    confirmUpload: (id: string, ownership: Ownership) => {
      world().owners.set(id, ownership.team)
      world().records.set(id, ownership)
      world().uploading.delete(ownership.request_id)
    },
    caHeldBy: () => 0,
    lease: (ask: { want: number }) => ({
      kind: 'lease',
      granted: ask.want,
      id: `lease-${seq}`,
      expiresMs: Date.now() + 5_000,
    }),
    // Every ask granted in full: the rate's leases are measured, never its 429s.
    memberRateAsk: (ask: { want: number; periodMs: number }) => ({
      granted: ask.want,
      windowEndMs: Date.now() + ask.periodMs,
      record: true,
      summary: null,
    }),
    appendAudit: async (chain: string) => ({ chain, seq: ++seq, prev: 'x'.repeat(43) }),
    // Issue 21 item 3: an upload's intent and a delete's owner read take the entry's number too.
    recordIntentNumbered: async (
      intent: UploadIntent,
      _q: unknown,
      _t: unknown,
      ask?: { chain: string },
    ) => ({
      ...instance.recordIntent(intent),
      position: ask === undefined ? null : await instance.appendAudit(ask.chain),
    }),
    ownerNumbered: async (id: string, ask?: { chain: string }) => ({
      owner: instance.owner(id),
      position: ask === undefined ? null : await instance.appendAudit(ask.chain),
      pairings: [],
    }),
    // Issue 21: the account snapshot, fresh, made of the world's current upstream answers (each
    // list answer once per request, as the upstream's were): what the Worker spends serving a
    // list or get from it. Turning the items into SQL rows and RPC is the coordinator's.
    snapshotList: () => {
      const now = world()
      const text = now.lists[now.listCalls++ % now.lists.length]!
      const { items, frame } = snapshotOf(text)
      return { owners: now.owners, intents: now.intents, view: freshView(items, frame) }
    },
    snapshotGet: (id: string) => {
      const now = world()
      const text = now.certificates.get(id)
      const items = text === undefined ? [] : [itemOf(JSON.parse(text).result)]
      const owner = now.records.get(id) ?? null
      return { owner, intents: now.intents, view: freshView(items, '{"errors":[],"messages":[]}') }
    },
    // Nothing cached, another reader fetching: each associations read asks the upstream, as before.
    snapshotAssociations: (id: string) => ({
      ...instance.snapshotGet(id),
      associations: { body: null, fetchedAtMs: null, claim: null },
    }),
    confirmUploadStored: (id: string, ownership: Ownership) =>
      instance.confirmUpload(id, ownership),
    releaseOwnerStored: (id: string) => instance.releaseOwner(id),
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

function listWorld(state: ListState, size: number): World {
  const now = Date.now()
  const generation = generations++
  const owners = new Map<string, string>()
  if (state === 'developer') {
    for (let i = 0; i < size; i++) {
      owners.set(certificateId(i, generation), i % 2 === 0 ? 'payments' : 'identity')
    }
  }
  // Intents whose bundle matches nothing listed: every certificate is a candidate to read, none is
  // adopted, so the state stays the same from one request to the next.
  const intents =
    state === 'adoption' || state === 'adoption, cold'
      ? [{ request_id: 'r', team: 'payments', bundle_sha256: 'none', at_ms: now - 2_000 }]
      : []
  const lists = [listBody(size, new Date(now - 1_000).toISOString(), generation)]
  return { ...emptyWorld(), lists, owners, intents }
}

/** `count` fresh leaves with their keys, made 16 at a time. */
async function leaves(count: number): Promise<MadeCertificate[]> {
  const made: MadeCertificate[] = []
  while (made.length < count) {
    const batch = Math.min(16, count - made.length)
    made.push(...(await Promise.all(Array.from({ length: batch }, () => makeCertificate()))))
  }
  return made
}

/**
 * The account the other four routes act on: ACCOUNT_SIZE leaves (one PEM: the gateway does not
 * read it on these routes), even ones owned by payments, odd ones by identity, each recorded as
 * uploaded through the gateway; the first payments certificate has two associations.
 */
async function accountWorld(): Promise<{ world: World; owned: string[] }> {
  const [leaf] = await leaves(1)
  const world = emptyWorld()
  const generation = generations++
  const uploadedOn = new Date(Date.now() - 86_400_000)
  const listed: UpstreamCertificate[] = []
  const owned: string[] = []
  for (let i = 0; i < ACCOUNT_SIZE; i++) {
    const id = certificateId(i, generation)
    const team = i % 2 === 0 ? 'payments' : 'identity'
    const certificate = describe(leaf!, id, `bench-${i}`, uploadedOn)
    listed.push(certificate)
    world.certificates.set(id, envelope(certificate))
    world.owners.set(id, team)
    world.records.set(id, {
      team,
      member: team === 'payments' ? 'alice' : 'carol',
      request_id: `bench-upload-${i}`,
      assigned_at: uploadedOn.toISOString(),
      via: 'upload',
      ca: false,
      expires_on: certificate.expires_on,
      fingerprint_sha256: i.toString(16).padStart(64, '0'),
    })
    if (team === 'payments') owned.push(id)
  }
  world.lists = [envelope(listed, { count: ACCOUNT_SIZE, per_page: 50 })]
  const services = [
    { service: 'gateway', status: 'active' },
    { service: 'workers', status: 'active' },
  ]
  world.associations.set(owned[0]!, envelope(services, { count: services.length, per_page: 20 }))
  return { world, owned }
}

// ---- the cases --------------------------------------------------------------------------------

interface Answer {
  status: number
  text: string
}

/** A route in a state: what it needs, made before its requests run, and what it must answer. */
interface Case {
  route: RouteName
  state: string
  size: number
  world: World
  /** Sets the world up for the next `count` requests and makes them (before they are measured). */
  prepare(count: number): Promise<Request[]>
  /** Throws unless the answers and the world say that the requests did what they should. */
  check(answers: Answer[]): void
  /** The status every request must get (200 unless said). */
  status?: number
  /** A bound the median CPU per request must stay under, or the bench fails. */
  maxCpuMs?: number
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const resultOf = (answer: Answer) => (JSON.parse(answer.text) as { result: unknown }).result

function ensure(condition: boolean, what: string): void {
  if (!condition) throw new Error(`bench: ${what}`)
}

function listCase(state: ListState, size: number): Case {
  const key = state === 'admin' ? KEYS.admin : KEYS.alice
  const world = listWorld(state, size)
  // The admin sees all; alice her team's half; no certificate is adopted (the intent's bundle
  // matches none), so she sees none of the unowned.
  const visible = state === 'admin' ? size : state === 'developer' ? Math.ceil(size / 2) : 0
  return {
    route: 'list',
    state,
    size,
    world,
    async prepare(count) {
      if (state === 'adoption, cold') {
        const uploadedOn = new Date(Date.now() - 1_000).toISOString()
        world.lists = Array.from({ length: count }, () => listBody(size, uploadedOn, generations++))
        world.listCalls = 0
      }
      return Array.from({ length: count }, () => new Request(COLLECTION, { headers: bearer(key) }))
    },
    check(answers) {
      for (const answer of answers) {
        const listed = resultOf(answer) as unknown[]
        ensure(listed.length === visible, `${state} listed ${listed.length}, not ${visible}`)
      }
    },
  }
}

/** The four routes' cases, each made when it is about to run (its world fresh). */
function routeCases(): (() => Promise<Case>)[] {
  const size = ACCOUNT_SIZE
  const state = 'own team'

  const reads = async (route: 'get' | 'associations'): Promise<Case> => {
    const { world, owned } = await accountWorld()
    const target = owned[0]!
    const url = `${COLLECTION}/${target}${route === 'associations' ? '/associations' : ''}`
    return {
      route,
      state,
      size,
      world,
      prepare: async (count) =>
        Array.from({ length: count }, () => new Request(url, { headers: bearer(KEYS.alice) })),
      check(answers) {
        for (const answer of answers) {
          const result = resultOf(answer)
          if (route === 'get') ensure((result as { id: string }).id === target, 'get: wrong id')
          else ensure((result as unknown[]).length === 2, 'associations: not the two')
        }
      },
    }
  }

  const upload = async (): Promise<Case> => {
    const { world } = await accountWorld()
    let expected: string[] = []
    return {
      route: 'upload',
      state,
      size,
      world,
      async prepare(count) {
        const made = await leaves(count)
        const at = new Date()
        const stamp = Date.now().toString(16).padStart(12, '0')
        const names = made.map((_, i) => `bench-upload-${stamp}-${i}`)
        expected = made.map((_, i) => `${i.toString(16).padStart(8, '0')}-1111-4000-8000-${stamp}`)
        world.uploads = made.map((leaf, i) => {
          const created = describe(leaf, expected[i]!, names[i]!, at)
          const { uploaded_on, ...fields } = created
          return envelope({ ...fields, updated_at: uploaded_on, uploaded_on })
        })
        world.uploadCalls = 0
        world.forwarded = []
        return made.map(
          (leaf, i) =>
            new Request(COLLECTION, {
              method: 'POST',
              headers: { ...bearer(KEYS.alice), 'content-type': 'application/json' },
              body: JSON.stringify({
                ca: false,
                certificates: leaf.pem,
                private_key: leaf.keyPem,
                name: names[i],
              }),
            }),
        )
      },
      check(answers) {
        answers.forEach((answer, i) => {
          const id = expected[i]!
          ensure((resultOf(answer) as { id: string }).id === id, 'upload: wrong id')
          ensure(world.owners.get(id) === 'payments', `upload: ${id} not owned by payments`)
          const sent = JSON.parse(world.forwarded[i]!) as { private_key?: string }
          ensure(sent.private_key !== undefined, 'upload: the key was not forwarded')
        })
        ensure(world.uploading.size === 0, 'upload: intents left behind')
        // Back to the account's size for the next batch.
        for (const id of expected) {
          world.owners.delete(id)
          world.records.delete(id)
        }
      },
    }
  }

  const remove = async (): Promise<Case> => {
    const { world, owned } = await accountWorld()
    // Never the one with associations: the gateway refuses to delete a certificate in use.
    const targets = owned.slice(1)
    const records = new Map(targets.map((id) => [id, world.records.get(id)!]))
    const answers = new Map(targets.map((id) => [id, world.certificates.get(id)!]))
    let batch: string[] = []
    return {
      route: 'delete',
      state,
      size,
      world,
      async prepare(count) {
        ensure(count <= targets.length, `delete: at most ${targets.length} requests per batch`)
        batch = targets.slice(0, count)
        // Each batch deletes certificates the account holds again, with their ledger records.
        for (const id of batch) {
          world.owners.set(id, 'payments')
          world.records.set(id, records.get(id)!)
          world.certificates.set(id, answers.get(id)!)
        }
        return batch.map(
          (id) =>
            new Request(`${COLLECTION}/${id}`, { method: 'DELETE', headers: bearer(KEYS.bob) }),
        )
      },
      check(answers) {
        answers.forEach((answer, i) => {
          const id = batch[i]!
          ensure((resultOf(answer) as { id: string }).id === id, 'delete: wrong id')
          ensure(!world.records.has(id), `delete: ${id} still in the ledger`)
        })
      },
    }
  }

  return [
    () => reads('get'),
    () => reads('associations'),
    upload,
    remove,
    ...ADVERSARIAL_PEM.map(
      ([state, text]) =>
        () =>
          adversarialUpload(state, text),
    ),
  ]
}

/**
 * Uploads of 64 KiB (the default body cap) of what made the PEM reader's regexes quadratic
 * (28-187 ms per request before issue 19): each must be refused as not PEM (400 / 18120) with
 * nothing forwarded, under MAX_ADVERSARIAL_CPU_MS, the free plan's CPU limit per request.
 */
const MAX_ADVERSARIAL_CPU_MS = 10
const BODY_ROOM = 60 * 1024
const fill = (unit: string, room = BODY_ROOM) => unit.repeat(Math.floor(room / unit.length))
const ADVERSARIAL_PEM: [string, string][] = [
  ['adversarial PEM: BEGIN lines', fill('-----BEGIN A-----\n', BODY_ROOM / 1.1)],
  ['adversarial PEM: BEGINs on one line', `${fill('-----BEGIN A')}-----\nAAAA\n`],
  [
    'adversarial PEM: long base64 without END',
    `-----BEGIN CERTIFICATE-----\n${fill('QUFBQUFBQUFBQUFBQUFB\n', BODY_ROOM / 1.1)}`,
  ],
]

async function adversarialUpload(state: string, text: string): Promise<Case> {
  const { world } = await accountWorld()
  const body = JSON.stringify({ ca: false, certificates: text })
  ensure(body.length < 64 * 1024, `${state}: the body is over the cap`)
  return {
    route: 'upload',
    state: `${state} (${Math.round(body.length / 1024)} KiB)`,
    size: ACCOUNT_SIZE,
    world,
    status: 400,
    maxCpuMs: MAX_ADVERSARIAL_CPU_MS,
    async prepare(count) {
      world.forwarded = []
      return Array.from(
        { length: count },
        () =>
          new Request(COLLECTION, {
            method: 'POST',
            headers: { ...bearer(KEYS.alice), 'content-type': 'application/json' },
            body,
          }),
      )
    },
    check(answers) {
      for (const answer of answers) {
        const { errors } = JSON.parse(answer.text) as { errors: { code: number }[] }
        ensure(errors[0]?.code === 18120, `${state}: answered ${answer.text.slice(0, 200)}`)
      }
      ensure(world.forwarded.length === 0, `${state}: something was forwarded`)
    },
  }
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
/** This file's functions that drive the requests: what they call is the framework's. */
const DRIVER = new Set(['', 'main', 'measure', 'once'])
const STAND_INS = 'bench stand-ins (fake upstream, KV, coordinator)'

/**
 * Microseconds per stage: each sample charged to its nearest src/ frame, to the stand-ins when a
 * frame of this file's stand-ins is nearer, else to "framework". Samples inside the inspector's
 * calls (Profiler.start and stop) are left out: they are no request's.
 */
function stagesOf(profile: Profile): { stages: Map<string, number>; leaves: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id)
  const inspecting = new Set<number>()
  for (const node of profile.nodes) {
    for (let at: number | undefined = node.id; at !== undefined; at = parent.get(at)) {
      if (byId.get(at)!.callFrame.url === 'node:inspector') inspecting.add(node.id)
    }
  }
  const stages = new Map<string, number>()
  const leaves = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, us: number) =>
    map.set(key, (map.get(key) ?? 0) + us)
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0
    const leaf = byId.get(id)!
    if (IDLE.has(leaf.callFrame.functionName)) return
    // The profiler's own start and stop (the first sample's delta runs from the profile's start).
    if (inspecting.has(id)) return
    const where = leaf.callFrame.url.replace(/^.*\/(node_modules|src|bench)\//, '$1/')
    add(
      leaves,
      `${leaf.callFrame.functionName || '(anonymous)'} ${where}:${leaf.callFrame.lineNumber + 1}`,
      us,
    )
    let stage = leaf.callFrame.url === '' ? 'runtime (GC, native)' : 'framework (no src frame)'
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = byId.get(at)!.callFrame
      const match = /\/src\/(.+)$/.exec(url)
      if (match) {
        stage = match[1]!
        break
      }
      if (url === import.meta.url) {
        if (!DRIVER.has(functionName)) stage = STAND_INS
        break
      }
    }
    add(stages, stage, us)
  })
  return { stages, leaves }
}

interface Figure {
  route: RouteName
  state: string
  size: number
  cpuMs: number
  p90Ms: number
  stagesMs: Record<string, number>
  topLeavesMs: Record<string, number>
}

async function main() {
  let world = emptyWorld()
  const env = {
    CLOUDFLARE_API_TOKEN: 'bench-token',
    POLICY: readFileSync(path.join(ROOT, 'demo/policy.json'), 'utf8'),
    // Pinned: managed mode's revision check is one coordinator call per isolate and second, not
    // per request (control/served-policy.ts), and the stand-in coordinator keeps no revisions.
    POLICY_MODE: 'pinned',
    UPSTREAM_BASE_URL: 'http://127.0.0.1:8788/client/v4',
    AUDIT: memoryKv(),
    COORDINATOR: coordinatorFor(() => world),
    AUDIT_SIGNING_KEY: 'bench-signing-key-bench-signing-key-0123',
    // The tests' published key (test/support/identities.ts): the bench fronts no real API.
    AUDIT_ED25519_PRIVATE_KEY,
  }
  globalThis.fetch = fakeUpstream(() => world)

  const app = buildGateway()
  /**
   * One request, its `waitUntil` work included (and work that work hands to `waitUntil`). The
   * answer's body is read after that work, and the CPU the reading took is returned apart: it is
   * the client's work (Node decoding and copying the bytes; workerd streams them out unread), up
   * to 25 ms for the list of 1,000, and is not counted as the gateway's.
   */
  async function once(request: Request, status = 200): Promise<Answer & { readingMs: number }> {
    const response = await respond(request)
    const reading = process.cpuUsage()
    const answer = await answerOf(response, status)
    const read = process.cpuUsage(reading)
    return { ...answer, readingMs: (read.user + read.system) / 1000 }
  }

  /** The gateway's work on a request: the answer, with its `waitUntil` work done, unread. */
  async function respond(request: Request): Promise<Response> {
    const pending: Promise<unknown>[] = []
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void pending.push(p),
      passThroughOnException() {},
    }
    const response = await app.fetch(request, env, ctx as never)
    for (let drained = 0; drained < pending.length;) {
      const batch = pending.slice(drained)
      drained = pending.length
      await Promise.all(batch)
    }
    return response
  }

  /** The client's work: reading the answer. */
  async function answerOf(response: Response, status = 200): Promise<Answer> {
    const text = await response.text()
    if (response.status !== status) {
      throw new Error(`${response.url} answered ${response.status}: ${text}`)
    }
    return { status: response.status, text }
  }

  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 50 })

  async function measure(c: Case): Promise<Figure> {
    world = c.world
    const warmUp = await c.prepare(WARM_UP)
    const warmed: Answer[] = []
    for (const request of warmUp) warmed.push(await once(request, c.status)) // JIT, caches
    c.check(warmed)
    env.AUDIT.clear()

    const requests = await c.prepare(REQUESTS)
    const perRequest: number[] = []
    const answers: Answer[] = []
    for (const request of requests) {
      const before = process.cpuUsage()
      const answer = await once(request, c.status)
      const used = process.cpuUsage(before)
      perRequest.push((used.user + used.system) / 1000 - answer.readingMs)
      answers.push(answer)
    }
    c.check(answers)
    perRequest.sort((a, b) => a - b)
    const cpuMs = perRequest[Math.floor(REQUESTS / 2)]!
    const p90Ms = perRequest[Math.floor(REQUESTS * 0.9)]!

    const { route, state, size } = c
    if (c.maxCpuMs !== undefined) {
      ensure(cpuMs <= c.maxCpuMs, `${route}, ${state}: ${cpuMs} ms CPU, over ${c.maxCpuMs} ms`)
    }
    const figure: Figure = { route, state, size, cpuMs, p90Ms, stagesMs: {}, topLeavesMs: {} }
    if (PROFILE) {
      const requests = await c.prepare(REQUESTS)
      const answers: Answer[] = []
      const responses: Response[] = []
      await session.post('Profiler.start')
      for (const request of requests) responses.push(await respond(request))
      const { profile } = (await session.post('Profiler.stop')) as { profile: Profile }
      // Read outside the profile: the client's work, as `once` says.
      for (const response of responses) answers.push(await answerOf(response, c.status))
      c.check(answers)
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
    return figure
  }

  const cases: (() => Case | Promise<Case>)[] = []
  for (const state of ['admin', 'developer', 'adoption', 'adoption, cold'] as const) {
    for (const size of SIZES) cases.push(() => listCase(state, size))
  }
  cases.push(...routeCases())

  const figures: Figure[] = []
  for (const make of cases) {
    const c = await make()
    if (ONLY !== undefined && !`${c.route}, ${c.state}`.includes(ONLY)) continue
    const figure = await measure(c)
    figures.push(figure)
    print(figure)
  }
  session.disconnect()
  if (process.env.BENCH_CPU_JSON) {
    writeFileSync(process.env.BENCH_CPU_JSON, JSON.stringify(figures, null, 2))
  }
}

function print(figure: Figure) {
  const size =
    figure.route === 'list'
      ? `${figure.size.toLocaleString('en')} certificates`
      : `${figure.size.toLocaleString('en')} certificates in the account`
  console.log(
    `\n${figure.route}, ${figure.state}, ${size}: ${figure.cpuMs.toFixed(2)} ms CPU per request (median; p90 ${figure.p90Ms.toFixed(2)} ms)`,
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
