/**
 * The served policy (issue 20, control/served-policy.ts) on an in-memory revision store and a fake
 * clock: the bootstrap, the 1 s freshness bound, failing closed, the pinned mode, and a stored
 * document that does not hash to its id.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { readConfig, type Config } from '../../src/config'
import type { RevisionStore } from '../../src/coordinator/client'
import { canonicalDocument, newRevision, type Revision } from '../../src/control/revision'
import { FRESH_MS, servedConfig } from '../../src/control/served-policy'
import { GatewayError } from '../../src/lib/errors'
import { AUDIT_ED25519_PRIVATE_KEY } from '../support/identities'

const member = (id: string, roles = ['developer']) => ({
  id,
  team: 'payments',
  roles,
  key_sha256: (id.charCodeAt(0).toString(16) + '0').repeat(32).slice(0, 64),
})
const documentWith = (...members: ReturnType<typeof member>[]) =>
  JSON.stringify({
    version: 1,
    teams: [{ id: 'payments', accounts: ['0123456789abcdef0123456789abcdef'] }],
    members,
  })

function baseConfig(mode: 'managed' | 'pinned', policy = documentWith(member('alice'))): Config {
  const result = readConfig({
    CLOUDFLARE_API_TOKEN: 'token',
    POLICY: policy,
    POLICY_MODE: mode,
    AUDIT: { put: () => {} },
    COORDINATOR: { idFromName: () => {} },
    AUDIT_SIGNING_KEY: 'an-audit-signing-key-of-32-characters',
    AUDIT_ED25519_PRIVATE_KEY,
    UPSTREAM_BASE_URL: 'http://127.0.0.1:8788/client/v4',
  })
  if (!result.ok) throw new Error(result.problems.join('; '))
  return result.config
}

/** The coordinator's table, in memory, counting the asks; `down` makes every call fail. */
function memoryStore() {
  const state = {
    current: null as Revision | null,
    asks: 0,
    down: false,
    revisions: new Map<string, Revision>(),
  }
  const check = () => {
    state.asks++
    if (state.down) throw GatewayError.of('COORDINATOR_UNAVAILABLE')
  }
  const store: RevisionStore = {
    async current(knownId) {
      check()
      const id = state.current?.id ?? null
      return { id, document: id === null || id === knownId ? null : state.current!.document }
    },
    async bootstrap(revision) {
      check()
      state.current ??= revision
      return { id: state.current.id, document: state.current.document }
    },
    async apply() {
      throw new Error('not used here')
    },
    async read(id) {
      return state.revisions.get(id) ?? null
    },
    async history() {
      return []
    },
    propose: () => Promise.reject(new Error('not used here')),
    decide: () => Promise.reject(new Error('not used here')),
    proposal: () => Promise.reject(new Error('not used here')),
    proposals: () => Promise.reject(new Error('not used here')),
  }
  return { state, store: () => store }
}

async function revisionOf(text: string, reason = 'test'): Promise<Revision> {
  return newRevision(canonicalDocument(text)!, {
    parent: null,
    author: 'admin',
    reason,
    now: new Date(0),
  })
}

let now = 1_000_000
const clock = () => now

beforeEach(() => {
  now += 10 * FRESH_MS
})

describe('managed mode', () => {
  it('stores the POLICY secret as the first revision when none is stored, and serves it', async () => {
    const base = baseConfig('managed')
    const { state, store } = memoryStore()
    const config = await servedConfig(base, store, clock)
    expect(state.current?.author).toBe('POLICY secret')
    expect(state.current?.parent).toBeNull()
    expect(config.policyRevision).toBe(state.current!.id)
    expect(config.policyRevision).toBe((await revisionOf(documentWith(member('alice')))).id)
    expect(config.policy.members.map((m) => m.id)).toEqual(['alice'])
  })

  it('ignores the secret once a revision is stored: the stored one is served', async () => {
    const base = baseConfig('managed')
    const { state, store } = memoryStore()
    state.current = await revisionOf(documentWith(member('bob')))
    const config = await servedConfig(base, store, clock)
    expect(config.policy.members.map((m) => m.id)).toEqual(['bob'])
    expect(config.policyRevision).toBe(state.current.id)
  })

  it('asks at most once per FRESH_MS, and serves a change from the first ask after it', async () => {
    const base = baseConfig('managed')
    const { state, store } = memoryStore()
    const first = await servedConfig(base, store, clock)
    expect(state.asks).toBe(2) // the empty answer, then the bootstrap
    state.current = await revisionOf(documentWith(member('alice'), member('carol')))
    now += FRESH_MS - 1
    expect(await servedConfig(base, store, clock)).toBe(first) // still fresh: not asked
    expect(state.asks).toBe(2)
    now += 1
    const changed = await servedConfig(base, store, clock)
    expect(state.asks).toBe(3)
    expect(changed.policyRevision).toBe(state.current.id)
    expect(changed.policy.members.map((m) => m.id)).toEqual(['alice', 'carol'])
    // An unchanged answer carries no document and keeps the same configuration object (so the
    // isolate's caches keyed by it, member rates and leases, carry on).
    now += FRESH_MS
    expect(await servedConfig(base, store, clock)).toBe(changed)
    expect(state.asks).toBe(4)
  })

  it('fails closed with 503 / 18515 when the copy held is stale and the coordinator is down', async () => {
    const base = baseConfig('managed')
    const { state, store } = memoryStore()
    const held = await servedConfig(base, store, clock)
    state.down = true
    now += FRESH_MS / 2
    expect(await servedConfig(base, store, clock)).toBe(held) // fresh: served without asking
    now += FRESH_MS
    const refusal = await servedConfig(base, store, clock).catch((e: unknown) => e)
    expect(refusal).toBeInstanceOf(GatewayError)
    expect([(refusal as GatewayError).status, (refusal as GatewayError).errors[0]!.code]).toEqual([
      503, 18515,
    ])
  })

  it('refuses a stored document that does not hash to its id, or does not parse', async () => {
    const base = baseConfig('managed')
    const { state, store } = memoryStore()
    const good = await revisionOf(documentWith(member('bob')))
    state.current = { ...good, document: canonicalDocument(documentWith(member('mallory')))! }
    await expect(servedConfig(base, store, clock)).rejects.toMatchObject({ status: 503 })
    state.current = await revisionOf('{"version":1,"teams":[]}')
    await expect(servedConfig(base, store, clock)).rejects.toMatchObject({ status: 503 })
  })
})

describe('pinned mode', () => {
  it('serves the secret as its own revision and never asks the coordinator', async () => {
    const base = baseConfig('pinned', documentWith(member('dave')))
    const { state, store } = memoryStore()
    state.down = true
    const config = await servedConfig(base, store, clock)
    expect(state.asks).toBe(0)
    expect(config.policy.members.map((m) => m.id)).toEqual(['dave'])
    expect(config.policyRevision).toBe((await revisionOf(documentWith(member('dave')))).id)
  })

  it('gives a document the same id however it is indented or ordered', async () => {
    const text = documentWith(member('dave'))
    const pretty = JSON.stringify(JSON.parse(text), null, 2)
    const a = await servedConfig(baseConfig('pinned', text), memoryStore().store, clock)
    const b = await servedConfig(baseConfig('pinned', pretty), memoryStore().store, clock)
    expect(a.policyRevision).toBe(b.policyRevision)
  })
})
