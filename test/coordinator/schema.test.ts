/**
 * The coordinator's versioned schema (src/coordinator/schema.ts), through the Durable Object
 * itself: each instance kind creates only its own tables, an instance created before versions
 * existed keeps its rows and is recorded at migration 1, a new migration reaches an existing
 * instance on its next use, a failed migration leaves nothing behind, and an instance migrated by
 * newer code is refused (the gateway fails closed).
 */
import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { opened } from '../../src/coordinator/index'
import { BUDGET_SCHEMA } from '../../src/coordinator/budget'
import { LEDGER_SCHEMA } from '../../src/coordinator/ledger'
import { MEMBER_KEYS_SCHEMA } from '../../src/coordinator/member-keys'
import { SNAPSHOT_SCHEMA } from '../../src/coordinator/snapshot'
import { heldKey } from '../../src/snapshot/shapes'
import { NOTICES_SCHEMA, noticeTables } from '../../src/coordinator/notices'
import { appliedId, migrate, schema } from '../../src/coordinator/schema'
import { ACCOUNT } from '../support/identities'
import { callJson, certificateUrl } from '../support/gateway'

const fresh = () => env.COORDINATOR.get(env.COORDINATOR.idFromName(`schema:${crypto.randomUUID()}`))

const tablesOf = (state: DurableObjectState) =>
  state.storage.sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .toArray()
    .map((row) => row.name)
    .filter((name) => !name.startsWith('_cf_') && !name.startsWith('sqlite_'))

const OWNERSHIP = {
  team: 'payments',
  member: 'alice',
  request_id: '01932d4e-0000-7000-8000-000000000001',
  assigned_at: '2026-12-01T00:00:00.000Z',
  via: 'upload' as const,
  ca: true,
}

describe('each instance kind', () => {
  it('creates only the tables of the modules it uses', async () => {
    const account = fresh()
    await account.owner(crypto.randomUUID())
    const token = fresh()
    await token.tripBreaker(Date.now() - 1, Date.now())
    await runInDurableObject(account, (_coordinator, state) => {
      expect(tablesOf(state)).toEqual(['intents', 'owners', 'schema_migrations'])
      expect(appliedId(state.storage.sql, 'ledger')).toBe(1)
      expect(appliedId(state.storage.sql, 'budget')).toBe(0)
    })
    await runInDurableObject(token, (_coordinator, state) => {
      expect(tablesOf(state)).toEqual([
        'breaker',
        'leases',
        'schema_migrations',
        'spend',
        'upstream_word',
      ])
    })
  })
})

describe('an instance created before the schema had versions', () => {
  it('keeps its rows and is recorded at migration 1 on its next call', async () => {
    const instance = fresh()
    const id = crypto.randomUUID()
    // What the unversioned code created on every construction, and a row it wrote.
    await runInDurableObject(instance, (_coordinator, state) => {
      const sql = state.storage.sql
      sql.exec(`CREATE TABLE owners (
        certificate_id TEXT PRIMARY KEY, team TEXT NOT NULL,
        ca INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL)`)
      sql.exec(`CREATE TABLE intents (
        request_id TEXT PRIMARY KEY, bundle_sha256 TEXT NOT NULL, team TEXT NOT NULL,
        ca INTEGER NOT NULL, at_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
        record TEXT NOT NULL)`)
      sql.exec(
        'INSERT INTO owners (certificate_id, team, ca, record) VALUES (?, ?, 1, ?)',
        id,
        'payments',
        JSON.stringify(OWNERSHIP),
      )
    })
    expect(await instance.owner(id)).toEqual(OWNERSHIP)
    expect(await instance.caHeldBy('payments', Date.now())).toBe(1)
    await runInDurableObject(instance, (_coordinator, state) => {
      expect(appliedId(state.storage.sql, 'ledger')).toBe(1)
    })
  })
})

describe('a new migration', () => {
  const withColumn = schema('ledger', [
    ...LEDGER_SCHEMA.migrations,
    {
      id: 2,
      description: 'a column a later version needs',
      statements: ['ALTER TABLE owners ADD COLUMN note TEXT'],
    },
  ])

  it('reaches an instance at the previous migration on its next use, once', async () => {
    const instance = fresh()
    const id = crypto.randomUUID()
    await instance.assignOwner(id, OWNERSHIP)
    await runInDurableObject(instance, (_coordinator, state) => {
      migrate(state.storage, withColumn)
      migrate(state.storage, withColumn) // a second start: nothing left to apply
      expect(appliedId(state.storage.sql, 'ledger')).toBe(2)
      const [row] = state.storage.sql
        .exec<{ team: string; note: string | null }>('SELECT team, note FROM owners')
        .toArray()
      expect(row).toEqual({ team: 'payments', note: null })
    })
  })

  it('that fails leaves the instance as it was: no statement of it, no new id', async () => {
    const instance = fresh()
    await instance.owner(crypto.randomUUID())
    const broken = schema('ledger', [
      ...LEDGER_SCHEMA.migrations,
      {
        id: 2,
        description: 'half good, half broken',
        statements: ['CREATE TABLE notes (id TEXT)', 'ALTER TABLE no_such_table ADD COLUMN x'],
      },
    ])
    await runInDurableObject(instance, (_coordinator, state) => {
      expect(() => migrate(state.storage, broken)).toThrow()
      expect(appliedId(state.storage.sql, 'ledger')).toBe(1)
      expect(tablesOf(state)).not.toContain('notes')
    })
  })
})

describe("the budget's migration 2 (the upstream's word, leases kept once returned)", () => {
  it('reaches a token instance at migration 1: its live lease comes back and still counts', async () => {
    const instance = fresh()
    const nowMs = Date.now()
    const plan = { windowMs: 300_000, cap: 100, reserve: 0, shares: { payments: 100 } }
    const ask = { team: 'payments', member: 'alice', reserveEligible: false, memberLimit: null }
    // A lease of 4 granted by the code of migration 1.
    const leaseId = await runInDurableObject(instance, (_coordinator, state) => {
      migrate(state.storage, schema('budget', BUDGET_SCHEMA.migrations.slice(0, 1)))
      const second = Math.floor(nowMs / 1000)
      state.storage.sql.exec(
        'INSERT INTO spend (second, team, member, reserve, n) VALUES (?, ?, ?, 0, 4)',
        second,
        'payments',
        'alice',
      )
      const id = crypto.randomUUID()
      state.storage.sql.exec(
        'INSERT INTO leases (id, second, team, member, reserve, n) VALUES (?, ?, ?, ?, 0, 4)',
        id,
        second,
        'payments',
        'alice',
      )
      return id
    })
    // Given back with 1 unused, with a word of the upstream whose request was sent before it was
    // granted (a lease of migration 1 counts from the start of its second).
    const sentMs = Math.floor(nowMs / 1000) * 1000 - 1
    const word = { remaining: 50, limit: 100, resetMs: null, sentMs, heardMs: nowMs }
    const answer = await instance.lease(
      { ...ask, want: 1, plan, returning: { id: leaseId, unused: 1 }, upstream: word },
      nowMs,
    )
    expect(answer).toMatchObject({ kind: 'lease', granted: 1 })
    await runInDurableObject(instance, (_coordinator, state) => {
      expect(appliedId(state.storage.sql, 'budget')).toBe(2)
      const rows = state.storage.sql
        .exec<{ id: string; n: number; returned: number; granted_ms: number | null }>(
          'SELECT id, n, returned, granted_ms FROM leases ORDER BY granted_ms',
        )
        .toArray()
      expect(rows).toEqual([
        { id: leaseId, n: 3, returned: 1, granted_ms: null },
        { id: expect.any(String), n: 1, returned: 0, granted_ms: nowMs },
      ])
    })
    // The old lease's 3 spent and the new 1 are in the upstream's room: 50 - 16 - 4.
    const view = await instance.budgetView(plan, { ...ask, memberLimit: null }, nowMs)
    expect(view.upstream).toMatchObject({ limit: 100, remaining: 50, room: 30 })
  })
})

describe('an instance migrated by newer code', () => {
  it('is refused, and the gateway fails closed with 503 / 18507', async () => {
    const instance = env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT))
    await instance.owner(crypto.randomUUID())
    await runInDurableObject(instance, (_coordinator, state) => {
      state.storage.sql.exec("UPDATE schema_migrations SET last_id = 99 WHERE module = 'ledger'")
    })
    try {
      // A new instance object (as after a restart) meets the newer schema on first use.
      await runInDurableObject(instance, (_coordinator, state) => {
        expect(() => opened(state, {}, 'ledger')).toThrow(/newer than this code/)
      })
      // The running instance has its module open already; restart it as a deploy would.
      await runInDurableObject(instance, (_coordinator, state) => {
        state.abort('restart for the test')
      }).catch(() => {})
      const answer = await callJson(certificateUrl(crypto.randomUUID()))
      expect([answer.status, answer.body.errors[0]?.code]).toEqual([503, 18507])
    } finally {
      await runInDurableObject(
        env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT)),
        (_coordinator, state) => {
          state.storage.sql.exec("UPDATE schema_migrations SET last_id = 1 WHERE module = 'ledger'")
        },
      )
    }
  })
})

describe('a schema as declared', () => {
  it('must number its migrations 1, 2, 3, ... in order', () => {
    const step = (id: number) => ({ id, description: `step ${id}`, statements: [] })
    expect(() => schema('x', [step(1), step(3)])).toThrow(/migration 2 has id 3/)
    expect(() => schema('x', [step(2)])).toThrow(/migration 1 has id 2/)
    expect(schema('x', [step(1), step(2)]).migrations).toHaveLength(2)
  })
})

describe("the member keys' migration 2 (check values)", () => {
  it('reaches an instance at migration 1: its keys stay, counted as unchecked until they end', async () => {
    const instance = fresh()
    await runInDurableObject(instance, (_coordinator, state) => {
      const first = schema('member_keys', MEMBER_KEYS_SCHEMA.migrations.slice(0, 1))
      migrate(state.storage, first)
      state.storage.sql.exec(
        `INSERT INTO member_keys (key_sha256, key_id, member, team, roles, created_by, created_ms,
           expires_ms) VALUES ('a', 'k1', 'erin', 'payments', '[]', 'bob', 0, 1000)`,
      )
      const keys = opened(state, {}, 'memberKeys')
      expect(appliedId(state.storage.sql, 'member_keys')).toBe(2)
      expect(keys.unchecked(999)).toBe(1)
      expect(keys.unchecked(1000)).toBe(0) // expired: no longer a reason to look guesses up
      keys.mint({
        key_sha256: 'b',
        key_id: 'k2',
        member: 'erin',
        team: 'payments',
        roles: [],
        created_by: 'bob',
        created_ms: 0,
        expires_ms: 5000,
        checked: true,
      })
      expect(keys.unchecked(999)).toBe(1)
    })
  })
})

describe("the snapshot's migration 2 (its epoch)", () => {
  it('reaches an instance at migration 1: its list stays and gets an epoch a reader can hold', async () => {
    await runInDurableObject(fresh(), (_coordinator, state) => {
      migrate(state.storage, schema('snapshot', SNAPSHOT_SCHEMA.migrations.slice(0, 1)))
      state.storage.sql.exec(
        "INSERT INTO snapshot_meta (id, revision, fetched_at_ms, frame) VALUES (1, 7, 1000, '{}')",
      )
      state.storage.sql.exec(
        `INSERT INTO snapshot_items (id, position, body, ca, name, type, written_ms)
         VALUES ('a', 0, '{"id":"a"}', 0, NULL, 'custom', 0)`,
      )
      const snapshot = opened(state, {}, 'snapshot')
      const settings = { maxAgeMs: 30_000, maxStaleMs: 60_000, claimMs: 10_000 }
      const view = snapshot.view(settings, 2_000)
      expect(appliedId(state.storage.sql, 'snapshot')).toBe(2)
      expect([view.revision, view.items.map((i) => i.id), typeof view.epoch]).toEqual([
        7,
        ['a'],
        'string',
      ])
      expect(snapshot.view(settings, 2_001, undefined, heldKey(view)).unchanged).toBe(true)
    })
  })
})

describe("the notices' migration 5 (the successor's last check)", () => {
  it('reaches an instance at migration 4: its pairing stays, unchecked until a check is kept', async () => {
    const instance = fresh()
    const pairing = {
      certificate_id: crypto.randomUUID(),
      successor_id: crypto.randomUUID(),
      services: ['gateway'],
      named_by: 'alice',
      named_at: 1_700_000_000_000,
    }
    await runInDurableObject(instance, (_coordinator, state) => {
      migrate(state.storage, schema('notices', NOTICES_SCHEMA.migrations.slice(0, 4)))
      state.storage.sql.exec(
        `INSERT INTO lifecycle_successors (certificate_id, successor_id, services, named_by, named_at)
         VALUES (?, ?, ?, ?, ?)`,
        pairing.certificate_id,
        pairing.successor_id,
        JSON.stringify(pairing.services),
        pairing.named_by,
        pairing.named_at,
      )
    })
    // The next use migrates: the pairing reads as before, with no check.
    expect(await instance.successorPairings()).toEqual([pairing])
    const check = {
      at: 1_700_000_100_000,
      by: 'watch' as const,
      ready: false,
      reason: 'not_in_use' as const,
      missing_services: ['gateway'],
    }
    expect(
      await instance.recordSuccessorCheck(pairing.certificate_id, pairing.successor_id, check),
    ).toBe(true)
    // An older check, or one of another successor, is not kept over it.
    const older = { ...check, at: check.at - 1, ready: true, reason: null, missing_services: [] }
    expect(
      await instance.recordSuccessorCheck(pairing.certificate_id, pairing.successor_id, older),
    ).toBe(false)
    expect(await instance.recordSuccessorCheck(pairing.certificate_id, 'other', check)).toBe(false)
    expect(await instance.successorPairings()).toEqual([{ ...pairing, check }])
    await runInDurableObject(instance, (_coordinator, state) => {
      expect(appliedId(state.storage.sql, 'notices')).toBe(NOTICES_SCHEMA.migrations.length)
      // A stored check that does not parse reads as none (shown as never checked).
      state.storage.sql.exec('UPDATE lifecycle_successors SET last_check = \'{"at":"x"}\'')
      expect(noticeTables(state.storage).pairings()).toEqual([pairing])
    })
  })
})
