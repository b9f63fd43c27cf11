/**
 * Adoption's bundle reading (src/ownership/bundles.ts): the same answer as a full inspection, a
 * PEM read once per isolate (answered without awaiting afterwards), never for another PEM under
 * the same id, and a bounded memory.
 */
import { describe, expect, it } from 'vitest'
import { bundleSha256Of, inspectCertificates } from '../../src/lib/inspect-pem'
import {
  MAX_REMEMBERED_BUNDLES,
  matchingBundle,
  rememberedMatch,
} from '../../src/ownership/bundles'
import type { AdoptionCandidate, Ledger } from '../../src/ownership/ledger'
import { READS_PER_REQUEST, adoptUnowned } from '../../src/ownership/reconcile'
import { exampleCa } from '../kit/fixtures'

async function bundleOfExample(): Promise<string> {
  const inspected = await inspectCertificates(exampleCa, false)
  if (!inspected.ok) throw new Error(inspected.message)
  return inspected.value.info.bundleSha256
}

describe('bundleSha256Of', () => {
  it('is what a full inspection calls bundleSha256, without reading the certificates', async () => {
    expect(await bundleSha256Of(exampleCa)).toBe(await bundleOfExample())
    expect(await bundleSha256Of(exampleCa + exampleCa)).toBe(
      (
        (await inspectCertificates(exampleCa + exampleCa, false)) as {
          value: { info: { bundleSha256: string } }
        }
      ).value.info.bundleSha256,
    )
  })

  it('is undefined for what is not PEM of certificates', async () => {
    expect(await bundleSha256Of('not pem')).toBeUndefined()
    expect(await bundleSha256Of(exampleCa.replace(/CERTIFICATE/g, 'PRIVATE KEY'))).toBeUndefined()
  })
})

describe('matchingBundle', () => {
  it('matches only an intent of the same bundle, and remembers both answers', async () => {
    const bundle = await bundleOfExample()
    expect(rememberedMatch('a-1', exampleCa, new Set([bundle]))).toBeUndefined()
    expect(await matchingBundle('a-1', exampleCa, new Set(['other']))).toBeNull()
    // Read once: a miss is now answered without awaiting; a match needs the full inspection once.
    expect(rememberedMatch('a-1', exampleCa, new Set(['other']))).toBeNull()
    expect(rememberedMatch('a-1', exampleCa, new Set([bundle]))).toBeUndefined()
    expect(await matchingBundle('a-1', exampleCa, new Set([bundle]))).toBe(bundle)
    expect(rememberedMatch('a-1', exampleCa, new Set([bundle]))).toBe(bundle)
  })

  it('never answers for another PEM under the same id', async () => {
    await matchingBundle('a-2', exampleCa, new Set())
    expect(rememberedMatch('a-2', 'not pem', new Set())).toBeUndefined()
    expect(await matchingBundle('a-2', 'not pem', new Set([await bundleOfExample()]))).toBeNull()
  })

  it('a PEM that is not certificates never matches', async () => {
    expect(await matchingBundle('a-3', 'not pem', new Set())).toBeNull()
    expect(rememberedMatch('a-3', 'not pem', new Set())).toBeNull()
  })

  it('forgets the least recently used beyond its bound', async () => {
    await matchingBundle('first', 'not pem', new Set())
    for (let i = 0; i < MAX_REMEMBERED_BUNDLES; i++) {
      await matchingBundle(`filler-${i}`, 'not pem', new Set())
    }
    expect(rememberedMatch('first', 'not pem', new Set())).toBeUndefined()
    expect(rememberedMatch(`filler-${MAX_REMEMBERED_BUNDLES - 1}`, 'not pem', new Set())).toBeNull()
  })
})

describe('adoptUnowned', () => {
  const now = Date.now()
  const ledgerAsked = () => {
    const asked: string[][] = []
    const ledger = {
      adopt: async (_account: string, candidates: AdoptionCandidate[]) => {
        asked.push(candidates.map((c) => c.id))
        return []
      },
    } as unknown as Ledger
    return { ledger, asked }
  }
  const unownedOf = (count: number, prefix: string, pem: string) =>
    Array.from({ length: count }, (_, i) => ({
      id: `${prefix}-${i}`,
      certificates: pem,
      uploaded_on: new Date(now).toISOString(),
    }))

  it('inspects at most a few matches in full a request, and the rest on the next ones', async () => {
    const intents = [{ bundle_sha256: await bundleOfExample(), at_ms: now - 1000 }]
    // The same PEM under many ids: every one matches the intent (the coordinator would pick).
    const unowned = unownedOf(5, 'same', exampleCa)
    const { ledger, asked } = ledgerAsked()
    for (let i = 0; i < 3; i++) await adoptUnowned(ledger, 'account', unowned, intents, 30_000)
    const per = READS_PER_REQUEST.inspections
    expect(asked.map((ids) => ids.length)).toEqual([per, 2 * per, Math.min(5, 3 * per)])
  })

  it('reads at most READS_PER_REQUEST.reads new PEMs a request, and the rest on the next', async () => {
    const intents = [{ bundle_sha256: 'an intent no PEM here matches', at_ms: now - 1000 }]
    const count = READS_PER_REQUEST.reads + 10
    const unowned = unownedOf(count, 'fresh', exampleCa)
    const { ledger } = ledgerAsked()
    await adoptUnowned(ledger, 'account', unowned, intents, 30_000)
    const bundles = new Set(intents.map((i) => i.bundle_sha256))
    const read = unowned.filter((c) => rememberedMatch(c.id, c.certificates, bundles) === null)
    expect(read.map((c) => c.id)).toEqual(
      unowned.slice(0, READS_PER_REQUEST.reads).map((c) => c.id),
    )
    await adoptUnowned(ledger, 'account', unowned, intents, 30_000)
    expect(unowned.every((c) => rememberedMatch(c.id, c.certificates, bundles) === null)).toBe(true)
  })
})
