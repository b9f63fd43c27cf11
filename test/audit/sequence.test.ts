/**
 * The audit's sequence (coordinator/sequence.ts): every entry numbered in its chain, in order,
 * none skipped, whichever isolate wrote it; a mutation's pending and final entry share a number;
 * no number, no mutation.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { newEntries } from '../support/audit'
import { coordinatorFailing } from '../support/coordinator'
import { emulator } from '../support/emulator'
import { GATEWAY, call, certificatesUrl, uploadNew } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'

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

describe('the audit sequence', () => {
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

  it('refuses a mutation it cannot number, forwarding nothing', async () => {
    const { status, body } = await uploadNew(
      {},
      { key: KEYS.alice, env: { COORDINATOR: coordinatorFailing('nextAuditSequence') } },
    )
    expect([status, body.errors[0]!.code]).toEqual([503, 18401])
    expect((await emulator.requests()).filter((r) => r.method === 'POST')).toEqual([])
  })

  it('still records a read it cannot number, unnumbered', async () => {
    const entries = await newEntries(() =>
      call(certificatesUrl(), {
        key: KEYS.alice,
        env: { COORDINATOR: coordinatorFailing('nextAuditSequence') },
      }),
    )
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ action: 'list', outcome: { class: 'allowed' } })
    expect(entries[0]!.seq).toBeUndefined()
  })
})
