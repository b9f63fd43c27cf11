/**
 * Integrity: verify (API, and the offline check of an export that the CLI runs) finds entries
 * whose value or metadata was edited, and forged or unsigned entries. A clean log verifies clean.
 * An entry is one KV key, so what a filter reads is what verify checks. (Deleted entries are the
 * chain's to find: test/audit/chain.test.ts.)
 */
import { env } from 'cloudflare:test'
import { afterAll, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { verifyExport } from '../../src/audit/verify-export'
import { eventKey, tailOf, writeEntry } from '../../src/audit/store'
import { verifyPage, type Problem } from '../../src/audit/verify'
import { publicKeyOf } from '../../src/audit/ed25519'
import { coordinatedChains } from '../../src/coordinator/client'
import { uuidv7 } from '../../src/lib/uuidv7'
import { expectNoSecretsInAudit, exportText } from '../support/audit'
import { call, callJson, certificatesUrl } from '../support/gateway'
import { ACCOUNT, AUDIT_ED25519_JWK, AUDIT_SIGNING_KEY, KEYS } from '../support/identities'

const AUDIT_URL = 'https://gateway.test/gateway/v1/audit'
const settings = { signingKey: AUDIT_SIGNING_KEY, retentionDays: 365 }
const kv = () => env.AUDIT
const chains = () => ({
  names: [ACCOUNT, 'gateway'],
  links: coordinatedChains(env.COORDINATOR, 365),
})
const keys = async (signingKey = AUDIT_SIGNING_KEY) => ({
  signingKey,
  publicKey: await publicKeyOf(AUDIT_ED25519_JWK),
})

// Each test gets its own window of time, one day apart, so that its tampering is its own.
let day = 1
async function seedWindow(count = 12) {
  const newest = Date.now() - day++ * 86_400_000
  const entries: AuditEntry[] = Array.from({ length: count }, (_, i) => {
    const time = newest - i * 1000
    const id = uuidv7(time)
    return {
      kind: 'request',
      id,
      time: new Date(time).toISOString(),
      request_id: id,
      member: i % 2 ? 'alice' : 'carol',
      team: i % 2 ? 'payments' : 'identity',
      via: 'key',
      action: i % 3 ? 'get' : 'delete',
      account_id: ACCOUNT,
      certificate_id: '33333333-3333-4333-8333-33333333333' + (i % 10),
      outcome: { class: 'allowed', status: 200, error_codes: [] },
      latency_ms: 5,
      upstream_attempts: 1,
    }
  })
  await Promise.all(entries.map((e) => writeEntry(kv(), e, settings)))
  const from = new Date(newest - count * 1000).toISOString()
  const to = new Date(newest).toISOString()
  return { entries, from, to, keyOf: (e: AuditEntry) => eventKey(tailOf(Date.parse(e.time), e.id)) }
}

interface VerifyResult {
  checked: number
  problems: Problem[]
  pending: string[]
  cursor: string | null
}

/** Runs verify over the range page by page, as the CLI does; returns every finding. */
async function verify(from: string, to: string, limit = 100) {
  const problems: Problem[] = []
  const pending: string[] = []
  let checked = 0
  let cursor: string | null = null
  do {
    const search: URLSearchParams = new URLSearchParams({
      from,
      to,
      limit: String(limit),
      ...(cursor ? { cursor } : {}),
    })
    const { status, body }: { status: number; body: { result: VerifyResult } } =
      await callJson<VerifyResult>(`${AUDIT_URL}/verify?${search}`, { key: KEYS.auditor })
    expect(status).toBe(200)
    problems.push(...body.result.problems)
    pending.push(...body.result.pending)
    checked += body.result.checked
    cursor = body.result.cursor
  } while (cursor)
  return { problems, pending, checked }
}

async function exportOf(from: string, to: string) {
  const response = await call(`${AUDIT_URL}/export?${new URLSearchParams({ from, to })}`, {
    key: KEYS.auditor,
  })
  return exportText(response)
}

afterAll(async () => {
  await expectNoSecretsInAudit()
})

describe('verify API', () => {
  it('finds nothing wrong with what the gateway wrote, page after page', async () => {
    for (let i = 0; i < 3; i++) await callJson(certificatesUrl())
    const w = await seedWindow(25)
    expect(await verify(w.from, w.to, 7)).toEqual({ problems: [], pending: [], checked: 25 })
    const recent = new Date(Date.now() - 60_000).toISOString()
    const live = await verify(recent, new Date().toISOString())
    expect(live.problems).toEqual([])
    expect(live.checked).toBeGreaterThanOrEqual(3)
  })

  it('reports an entry whose value was edited', async () => {
    const w = await seedWindow()
    const key = w.keyOf(w.entries[4]!)
    const { value, metadata } = await kv().getWithMetadata(key)
    await kv().put(key, value!.replace('"delete"', '"get"').replace('"get"', '"list"'), {
      metadata,
    })
    expect((await verify(w.from, w.to)).problems).toEqual([
      { kind: 'altered', key, detail: 'the value does not match its signed hash' },
    ])
  })

  it('reports an entry whose metadata was edited (an outcome made to look harmless)', async () => {
    const w = await seedWindow()
    const key = w.keyOf(w.entries[3]!)
    const { value, metadata } = await kv().getWithMetadata<Record<string, unknown>>(key)
    await kv().put(key, value!, { metadata: { ...metadata, o: 'invalid', s: 400 } })
    const { problems } = await verify(w.from, w.to)
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'altered', key }))
  })

  it('reports a forged entry (another entry’s signature copied) and an unsigned one', async () => {
    const w = await seedWindow()
    const { value, metadata } = await kv().getWithMetadata<Record<string, unknown>>(
      w.keyOf(w.entries[0]!),
    )
    const time = Date.parse(w.entries[2]!.time) + 500
    const forged = eventKey(tailOf(time, uuidv7(time)))
    await kv().put(forged, value!, { metadata })
    const unsignedTime = time + 100
    const unsigned = eventKey(tailOf(unsignedTime, uuidv7(unsignedTime)))
    const { sig: _s, seal: _e, ...bare } = metadata!
    await kv().put(unsigned, value!, { metadata: bare })
    const { problems } = await verify(w.from, w.to)
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'forged', key: forged }))
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'unsigned', key: unsigned }))
    expect(problems).toHaveLength(2)
  })

  it('writes each entry as one key: a filter reads the signed metadata verify checks', async () => {
    const w = await seedWindow(4)
    const tails = new Set(w.entries.map((e) => tailOf(Date.parse(e.time), e.id)))
    const named = (await kv().list()).keys.filter((k) =>
      tails.has(k.name.replace(/^.*?:(\d{13}:)/, '$1')),
    )
    expect(named.map((k) => k.name).sort()).toEqual(w.entries.map(w.keyOf).sort())
    // Edited so that a team filter would no longer find it: the metadata is the signed one.
    const key = w.keyOf(w.entries[1]!)
    const { value, metadata } = await kv().getWithMetadata<Record<string, unknown>>(key)
    await kv().put(key, value!, { metadata: { ...metadata, tm: 'nobody' } })
    expect((await verify(w.from, w.to)).problems).toEqual([
      expect.objectContaining({ kind: 'altered', key }),
    ])
  })

  it('lists entries whose outcome never arrived', async () => {
    const w = await seedWindow(3)
    const stuck = { ...w.entries[1]!, outcome: { class: 'pending' as const, error_codes: [] } }
    delete stuck.latency_ms
    await writeEntry(kv(), stuck, settings)
    expect(await verify(w.from, w.to)).toEqual({
      problems: [],
      pending: [w.keyOf(stuck)],
      checked: 3,
    })
  })
})

describe('offline verification of an export (npm run audit:verify -- --file)', () => {
  it('accepts an untouched export and notes pending entries', async () => {
    const w = await seedWindow()
    const report = await verifyExport(await exportOf(w.from, w.to), await keys())
    expect(report).toMatchObject({ checked: 12, problems: [], pending: [] })
  })

  it('reports an edited line, edited metadata, a forged line and a wrong key', async () => {
    const w = await seedWindow(4)
    const lines = (await exportOf(w.from, w.to)).trimEnd().split('\n')
    const edited = JSON.parse(lines[0]!)
    edited.member = 'mallory'
    const meta = JSON.parse(lines[1]!)
    meta._kv.metadata.o = 'invalid'
    const forged = JSON.parse(lines[2]!)
    forged._kv.key = forged._kv.key.replace(/:[0-9a-f-]{36}$/, ':' + uuidv7())
    const tampered = [edited, meta, forged].map((l) => JSON.stringify(l)).concat(lines.slice(3))
    const report = await verifyExport(tampered.join('\n'), await keys())
    expect(report.problems.map((p) => [p.line, p.kind])).toEqual([
      [1, 'altered'],
      [2, 'altered'],
      [3, 'forged'],
      // The marker's digest of the lines no longer matches them.
      [5, 'incomplete'],
    ])
    const wrongKey = await verifyExport(
      lines.join('\n'),
      await keys('another-key-of-at-least-32-characters'),
    )
    // Four entries; the end marker is signed with the Ed25519 key, not the HMAC one.
    expect(wrongKey.problems.map((p) => p.kind)).toEqual(Array(4).fill('forged'))
  })

  it('names its time range and filters in the signed marker; an edited range or filter fails', async () => {
    const w = await seedWindow(4)
    const search = new URLSearchParams({ from: w.from, to: w.to, team: 'payments' })
    const text = await exportText(
      await call(`${AUDIT_URL}/export?${search}`, { key: KEYS.auditor }),
    )
    const lines = text.trimEnd().split('\n')
    const marker = JSON.parse(lines.at(-1)!) as Record<string, unknown>
    expect(marker).toMatchObject({
      export: 2,
      range: { from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString() },
      filters: { team: 'payments' },
      count: 2,
      kid: (await publicKeyOf(AUDIT_ED25519_JWK)).kid,
    })
    const report = await verifyExport(text, await keys(), [], { from: w.from, to: w.to })
    expect(report.problems).toEqual([])
    expect(report.covered).toMatchObject({ filters: { team: 'payments' } })

    const withMarker = (change: object) =>
      [...lines.slice(0, -1), JSON.stringify({ ...marker, ...change })].join('\n')
    const earlier = new Date(Date.parse(w.from) - 86_400_000).toISOString()
    for (const change of [
      { range: { from: earlier, to: new Date(w.to).toISOString() } },
      { filters: {} },
    ]) {
      const edited = await verifyExport(withMarker(change), await keys())
      expect(edited.problems.map((p) => p.kind)).toEqual(['forged'])
    }
    // Asked for a longer range than it covers: the auditor is told.
    const longer = await verifyExport(text, await keys(), [], { from: earlier })
    expect(longer.problems.map((p) => p.kind)).toEqual(['range'])
  })

  it('reports an export that was cut off, or that lost a line', async () => {
    const w = await seedWindow(3)
    const lines = (await exportOf(w.from, w.to)).trimEnd().split('\n')
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ complete: true, count: 3 })
    const cut = await verifyExport(lines.slice(0, 2).join('\n'), await keys())
    expect(cut.problems.map((p) => p.kind)).toEqual(['incomplete'])
    const lost = await verifyExport([lines[0], lines[2], lines[3]].join('\n'), await keys())
    expect(lost.problems.map((p) => p.kind)).toEqual(['incomplete'])
  })
})

describe('a page that runs out of KV calls', () => {
  it('answers with a cursor and checks the rest on the next page, none skipped', async () => {
    const { from, to, entries } = await seedWindow(6)
    const range = { from: Date.parse(from), to: Date.parse(to), endsNow: false }
    const first = await verifyPage(kv(), {
      signingKey: AUDIT_SIGNING_KEY,
      range,
      limit: 4,
      chains: chains(),
    })
    expect(first.checked).toBe(4)
    expect(first.cursor).toBeDefined()
    const rest = await verifyPage(kv(), {
      signingKey: AUDIT_SIGNING_KEY,
      range,
      limit: 4,
      cursor: first.cursor!,
      chains: chains(),
    })
    expect(rest.checked).toBe(entries.length - 4)
    expect(rest.cursor).toBeUndefined()
    expect([...first.problems, ...rest.problems]).toEqual([])
  })
})
