/**
 * The audit's chain (audit/chain.ts, coordinator/chain.ts): every entry numbered in its chain, in
 * order, none skipped, whichever isolate wrote it; a mutation's pending and final entry share a
 * place; no place, no mutation. And what verification reports for each tampering: a deleted entry
 * (with or without its index keys), an edited one, one moved to another number.
 */
import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { eventKeyOf, writeEntry } from '../../src/audit/store'
import { signCheckpoint, type Checkpoint, type KeptCheckpoint } from '../../src/audit/checkpoint'
import { publicKeyOf, type PrivateJwk } from '../../src/audit/ed25519'
import { verifyExport } from '../../src/audit/verify-export'
import worker from '../../src/index'
import { exportText, newEntries } from '../support/audit'
import { coordinatorFailing } from '../support/coordinator'
import { emulator } from '../support/emulator'
import {
  GATEWAY,
  call,
  callJson,
  certificateUrl,
  certificatesUrl,
  uploadNew,
  uploadedId,
} from '../support/gateway'
import { ACCOUNT, AUDIT_ED25519_JWK, AUDIT_SIGNING_KEY, KEYS } from '../support/identities'

const exportKeys = async () => ({
  signingKey: AUDIT_SIGNING_KEY,
  publicKey: await publicKeyOf(AUDIT_ED25519_JWK),
})

beforeEach(async () => {
  await emulator.reset()
})

const numbers = (entries: AuditEntry[], chain: string) =>
  entries
    .filter((e) => e.chain === chain)
    .map((e) => e.seq!)
    .sort((a, b) => a - b)

const consecutive = (values: number[]) =>
  values.every((v, i) => i === 0 || v === values[i - 1]! + 1)

describe('the audit chain', () => {
  it('numbers concurrent requests of one account consecutively, each once', async () => {
    const entries = await newEntries(() =>
      Promise.all([
        ...Array.from({ length: 8 }, () => call(certificatesUrl(), { key: KEYS.alice })),
        ...Array.from({ length: 4 }, () => uploadNew({}, { key: KEYS.carol })),
      ]),
    )
    expect(entries).toHaveLength(12)
    const seqs = numbers(entries, ACCOUNT)
    expect(seqs).toHaveLength(12)
    expect(new Set(seqs).size).toBe(12)
    expect(consecutive(seqs)).toBe(true)
  })

  it('keeps the number of a mutation from its pending entry to its final one', async () => {
    let id: string | undefined
    const [entry] = await newEntries(async () => {
      id = (await uploadNew({}, { key: KEYS.alice })).id
    })
    expect(entry).toMatchObject({ action: 'upload', certificate_id: id, chain: ACCOUNT })
    expect(entry!.outcome.class).toBe('allowed')
    expect(entry!.seq).toBeGreaterThan(0)
  })

  it('numbers what names no account in the gateway chain', async () => {
    const entries = await newEntries(async () => {
      await call(`${GATEWAY}/whoami`, { key: KEYS.alice })
      await call(`${GATEWAY}/whoami`, { key: KEYS.carol })
    })
    const seqs = numbers(entries, 'gateway')
    expect(seqs).toHaveLength(2)
    expect(consecutive(seqs)).toBe(true)
  })

  it('refuses a mutation it cannot chain, forwarding nothing', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    const { status, body } = await callJson(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
      // Issue 21 item 3: a delete's number rides on its owner read.
      env: { COORDINATOR: coordinatorFailing('appendAudit', 'ownerNumbered') },
    })
    expect([status, body.errors[0]!.code]).toEqual([503, 18507])
    expect((await emulator.requests()).filter((r) => r.method === 'DELETE')).toEqual([])
  })

  it('refuses an upload whose number (taken with its intent) cannot be had, forwarding nothing', async () => {
    // Issue 21 item 3: an upload's number rides on its intent's round trip.
    const { status, body } = await uploadNew(
      {},
      { key: KEYS.alice, env: { COORDINATOR: coordinatorFailing('recordIntentNumbered') } },
    )
    expect([status, body.errors[0]!.code]).toEqual([503, 18507])
    expect((await emulator.requests()).filter((r) => r.method === 'POST')).toEqual([])
  })

  it('still records a read it cannot chain, unchained', async () => {
    const entries = await newEntries(() =>
      call(certificatesUrl(), {
        key: KEYS.alice,
        env: { COORDINATOR: coordinatorFailing('appendAudit') },
      }),
    )
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ action: 'list', outcome: { class: 'allowed' } })
    expect(entries[0]!.seq).toBeUndefined()
  })
})

interface ChainReport {
  checked: number
  first_seq: number | null
  head_seq: number | null
  vouched_from: number | null
  problems: { kind: string; seq: number; key: string }[]
  next_seq: number | null
}

const verifyChain = async (chain = ACCOUNT, query = '') =>
  (
    await callJson<ChainReport>(`${GATEWAY}/audit/verify/chain?chain=${chain}${query}`, {
      key: KEYS.auditor,
    })
  ).body.result

/** Five chained entries of the account, oldest first. */
async function fiveEntries(): Promise<AuditEntry[]> {
  const entries = await newEntries(async () => {
    for (let i = 0; i < 5; i++) await call(certificatesUrl(), { key: KEYS.alice })
  })
  return entries.filter((e) => e.chain === ACCOUNT).sort((a, b) => a.seq! - b.seq!)
}

/** Someone holding the signing key rewrites an entry, validly signed. */
const resign = (entry: AuditEntry) =>
  writeEntry(env.AUDIT, entry, { signingKey: AUDIT_SIGNING_KEY, retentionDays: 1 })

const deleteEntry = (entry: AuditEntry) => env.AUDIT.delete(eventKeyOf(entry))

describe('verifying a chain', () => {
  it('vouches for an untouched chain from its first number to its head', async () => {
    const entries = await fiveEntries()
    const all = await verifyChain()
    expect(all.problems).toEqual([])
    expect(all.head_seq).toBe(entries.at(-1)!.seq)
    expect(all.vouched_from).toBe(all.first_seq)
    expect(all.checked).toBe(all.head_seq! - all.first_seq! + 1)
  })

  it.each([
    ['deleted', 'deleted', deleteEntry],
    [
      'edited in KV without the key',
      'altered',
      async (e: AuditEntry) => {
        const key = eventKeyOf(e)
        const stored = await env.AUDIT.getWithMetadata(key)
        const edited = JSON.stringify({ ...e, member: 'mallory' })
        await env.AUDIT.put(key, edited, { metadata: stored.metadata })
      },
    ],
    [
      'edited and re-signed with the key',
      'altered',
      (e: AuditEntry) => resign({ ...e, member: 'mallory', team: 'identity' }),
    ],
    [
      'given another number and re-signed',
      'moved',
      (e: AuditEntry) => resign({ ...e, seq: e.seq! + 1 }),
    ],
    [
      'relinked to another predecessor and re-signed',
      'relinked',
      (e: AuditEntry) => resign({ ...e, prev: 'A'.repeat(43) }),
    ],
  ])('reports an entry %s, by number, and vouches only after it', async (_how, kind, tamper) => {
    const entries = await fiveEntries()
    const victim = entries[2]!
    await tamper(victim)
    // From this test's first entry: earlier tests of the file left their own tamperings behind.
    const report = await verifyChain(ACCOUNT, `&from_seq=${entries[0]!.seq}`)
    expect(report.problems).toEqual([
      expect.objectContaining({ kind, seq: victim.seq, key: eventKeyOf(victim) }),
    ])
    expect(report.vouched_from).toBe(victim.seq! + 1)
  })

  it('pages through a long chain in number order', async () => {
    const entries = await fiveEntries()
    const start = entries[0]!.seq!
    const first = await verifyChain(ACCOUNT, `&from_seq=${start}&limit=2`)
    expect(first.checked).toBe(2)
    expect(first.next_seq).toBe(start + 2)
    const rest = await verifyChain(ACCOUNT, `&from_seq=${first.next_seq}&limit=200`)
    expect(rest.next_seq).toBeNull()
    expect(rest.problems).toEqual([])
  })

  it('is for auditors only', async () => {
    const denied = await callJson(`${GATEWAY}/audit/verify/chain?chain=${ACCOUNT}`, {
      key: KEYS.alice,
    })
    expect(denied.status).toBe(403)
  })
})

interface RangeReport {
  checked: number
  links_checked: number
  problems: { kind: string; key?: string; chain?: string; seq?: number; detail: string }[]
  cursor: string | null
}

/** The range verify (what `audit:verify --url` runs), every page of it. */
async function verifyRange(from: string, to: string, options: { env?: Partial<Env> } = {}) {
  const report = { checked: 0, links_checked: 0, problems: [] as RangeReport['problems'] }
  let cursor: string | null = null
  do {
    const search: URLSearchParams = new URLSearchParams({
      from,
      to,
      limit: '2',
      ...(cursor ? { cursor } : {}),
    })
    const { status, body }: { status: number; body: { result: RangeReport } } =
      await callJson<RangeReport>(`${GATEWAY}/audit/verify?${search}`, {
        key: KEYS.auditor,
        ...(options.env ? { env: options.env } : {}),
      })
    expect(status).toBe(200)
    report.checked += body.result.checked
    report.links_checked += body.result.links_checked
    report.problems.push(...body.result.problems)
    cursor = body.result.cursor
  } while (cursor)
  return report
}

describe('verifying a range walks the chains over it (GET /gateway/v1/audit/verify)', () => {
  async function fiveInARange() {
    const from = new Date(Date.now() - 1).toISOString()
    const entries = await fiveEntries()
    const to = new Date(Date.now() + 1).toISOString()
    return { entries, from, to }
  }

  it('compares every link of the range, page after page, and finds nothing in an untouched one', async () => {
    const { from, to } = await fiveInARange()
    const report = await verifyRange(from, to)
    expect(report.problems).toEqual([])
    expect(report.checked).toBe(5)
    expect(report.links_checked).toBe(5)
  })

  it('reports an entry deleted from the range, by chain and number', async () => {
    const { entries, from, to } = await fiveInARange()
    const victim = entries[2]!
    await deleteEntry(victim)
    const report = await verifyRange(from, to)
    expect(report.problems).toEqual([
      expect.objectContaining({
        kind: 'deleted',
        key: eventKeyOf(victim),
        chain: ACCOUNT,
        seq: victim.seq,
      }),
    ])
    expect(report.checked).toBe(4)
    expect(report.links_checked).toBe(5)
  })

  it('reports the first and the last entry of the range deleted too (its edges)', async () => {
    const { entries, from, to } = await fiveInARange()
    await deleteEntry(entries[0]!)
    await deleteEntry(entries[4]!)
    const report = await verifyRange(from, to)
    // Pages run newest first: sorted by number here.
    const found = report.problems.map((p) => [p.kind, p.seq] as const)
    expect(found.sort((a, b) => a[1]! - b[1]!)).toEqual([
      ['deleted', entries[0]!.seq],
      ['deleted', entries[4]!.seq],
    ])
  })

  it('reports an entry rewritten with the signing key, which its signature cannot show', async () => {
    const { entries, from, to } = await fiveInARange()
    await resign({ ...entries[1]!, member: 'mallory' })
    const report = await verifyRange(from, to)
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'altered', seq: entries[1]!.seq, chain: ACCOUNT }),
    ])
  })

  it('reports an entry that claims a number its chain gave another key', async () => {
    const { entries, from, to } = await fiveInARange()
    // A copy of entry 3 under a new key in the range, validly signed: no link names its key.
    const time = Date.parse(entries[3]!.time) + 1
    const copy = { ...entries[3]!, time: new Date(time).toISOString(), id: entries[3]!.id }
    await resign(copy)
    const report = await verifyRange(from, to)
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'moved', key: eventKeyOf(copy), seq: entries[3]!.seq }),
    ])
  })

  it('fails closed when a chain cannot be read: it says so instead of passing the range', async () => {
    const { from, to } = await fiveInARange()
    const report = await verifyRange(from, to, {
      env: { COORDINATOR: coordinatorFailing('auditLinksInSpan') },
    })
    expect(report.problems.length).toBeGreaterThan(0)
    expect(report.problems).toContainEqual(
      expect.objectContaining({ kind: 'unverified', chain: ACCOUNT }),
    )
    expect(report.links_checked).toBe(0)
  })
})

describe('verifying an export offline', () => {
  /** Five fresh entries of the account, and an unfiltered export of just their time range. */
  async function exported() {
    const from = new Date(Date.now() - 1).toISOString()
    const entries = await fiveEntries()
    const to = new Date(Date.now() + 1).toISOString()
    const exportNow = async () => {
      const response = await call(`${GATEWAY}/audit/export?${new URLSearchParams({ from, to })}`, {
        key: KEYS.auditor,
      })
      return (await exportText(response)).trimEnd().split('\n')
    }
    return { entries, exportNow }
  }

  const verify = async (lines: string[], checkpoints: KeptCheckpoint[] = []) =>
    verifyExport(lines.join('\n'), await exportKeys(), checkpoints)

  const kinds = (report: Awaited<ReturnType<typeof verify>>) => report.problems.map((p) => p.kind)

  it('passes an untouched export, its chain intact', async () => {
    const { entries, exportNow } = await exported()
    const report = await verify(await exportNow())
    expect(report.problems).toEqual([])
    expect(report.chains[ACCOUNT]).toEqual({
      first: entries[0]!.seq,
      last: entries.at(-1)!.seq,
      intact: true,
    })
  })

  it('shows an entry deleted from the log before the export was made', async () => {
    const { entries, exportNow } = await exported()
    await deleteEntry(entries[2]!)
    const report = await verify(await exportNow())
    expect(kinds(report)).toEqual(['missing'])
    expect(report.problems[0]!.detail).toContain(`#${entries[2]!.seq}`)
  })

  it('shows an entry edited and re-signed with the key before the export was made', async () => {
    const { entries, exportNow } = await exported()
    await resign({ ...entries[2]!, member: 'mallory' })
    expect(kinds(await verify(await exportNow()))).toEqual(['relinked'])
  })

  it('shows two entries swapped in the log (their numbers exchanged, re-signed)', async () => {
    const { entries, exportNow } = await exported()
    const [a, b] = [entries[1]!, entries[2]!]
    await resign({ ...a, seq: b.seq, prev: b.prev })
    await resign({ ...b, seq: a.seq, prev: a.prev })
    expect(kinds(await verify(await exportNow()))).toContain('relinked')
  })

  it('shows a line removed with the count edited, lines reordered, and two exports spliced', async () => {
    const { exportNow } = await exported()
    const lines = await exportNow()
    const marker = JSON.parse(lines.at(-1)!) as { count: number }
    const cut = [
      ...lines.slice(0, 1),
      ...lines.slice(2, -1),
      JSON.stringify({ ...marker, count: marker.count - 1 }),
    ]
    expect(kinds(await verify(cut))).toEqual(['forged'])
    const reordered = [lines[1]!, lines[0]!, ...lines.slice(2)]
    expect(kinds(await verify(reordered))).toEqual(['incomplete'])
    const other = await (await exported()).exportNow()
    const spliced = [...lines.slice(0, 2), ...other.slice(2)]
    expect(kinds(await verify(spliced))).toContain('incomplete')
  })

  it('checks checkpoints: a kept one holds, a forged one and a rewritten history do not', async () => {
    const { entries, exportNow } = await exported()
    const checkpoint = (
      await callJson<Checkpoint>(`${GATEWAY}/audit/checkpoint?chain=${ACCOUNT}`, {
        key: KEYS.auditor,
      })
    ).body.result
    expect(checkpoint).toMatchObject({ chain: ACCOUNT, seq: entries.at(-1)!.seq })
    expect(kinds(await verify(await exportNow(), [checkpoint]))).toEqual([])

    const forged = { ...checkpoint, link: 'B'.repeat(43) }
    expect(kinds(await verify(await exportNow(), [forged]))).toEqual(['checkpoint'])

    // Re-signed with another key (whoever holds the HMAC key, say), under the pinned key's id or
    // its own: the public key tells it from the gateway's.
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair
    const other = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as PrivateJwk
    const head = { chain: ACCOUNT, seq: checkpoint.seq, link: 'B'.repeat(43) }
    const resigned = await signCheckpoint(other, head, new Date())
    for (const kept of [resigned, { ...resigned, kid: checkpoint.kid }]) {
      const report = await verify(await exportNow(), [kept])
      expect(kinds(report)).toEqual(['checkpoint'])
    }

    // Someone with the key and the coordinator rewrites the last entry and its link: the export
    // is consistent with itself, but not with what the auditor kept.
    await resign({ ...entries.at(-1)!, member: 'mallory' })
    const rewritten = await verify(await exportNow(), [checkpoint])
    expect(kinds(rewritten)).toEqual(['checkpoint'])
  })
})

describe('the hourly checkpoints', () => {
  it("sign each chain's head, for auditors to collect and check exports against", async () => {
    const entries = await fiveEntries()
    const ctx = createExecutionContext()
    worker.scheduled!(createScheduledController({ scheduledTime: Date.now() }), env, ctx)
    await waitOnExecutionContext(ctx)
    const listed = await callJson<Checkpoint[]>(
      `${GATEWAY}/audit/checkpoints?chain=${ACCOUNT}&limit=1`,
      { key: KEYS.auditor },
    )
    expect(listed.status).toBe(200)
    const [newest] = listed.body.result
    expect(newest).toMatchObject({ chain: ACCOUNT, seq: entries.at(-1)!.seq })
    const from = entries[0]!.time
    const response = await call(`${GATEWAY}/audit/export?${new URLSearchParams({ from })}`, {
      key: KEYS.auditor,
    })
    const lines = (await exportText(response)).trimEnd().split('\n')
    const report = await verifyExport(lines.join('\n'), await exportKeys(), [newest!])
    expect(report.problems.filter((p) => p.kind === 'checkpoint')).toEqual([])

    const denied = await callJson(`${GATEWAY}/audit/checkpoints?chain=${ACCOUNT}`, {
      key: KEYS.alice,
    })
    expect(denied.status).toBe(403)
  })
})
