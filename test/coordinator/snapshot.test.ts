/**
 * The account snapshot's table (src/coordinator/snapshot.ts), on a fresh coordinator instance:
 * the refresh claim is granted to one reader at a time and lapses, a refresh never undoes a write
 * made through the gateway after its list was asked for, and revisions grow with every change.
 */
import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { opened } from '../../src/coordinator/index'
import { heldKey, itemOf } from '../../src/snapshot/shapes'

const SETTINGS = { maxAgeMs: 30_000, maxStaleMs: 3_600_000, claimMs: 12_000 }
const fresh = () =>
  env.COORDINATOR.get(env.COORDINATOR.idFromName(`snapshot:${crypto.randomUUID()}`))
const cert = (id: string, name = id) => itemOf({ id, name, ca: false, type: 'custom' })

const table = (state: DurableObjectState) => opened(state, {}, 'snapshot')
type Table = ReturnType<typeof table>
function onTable<T>(run: (t: Table) => T): Promise<T> {
  return runInDurableObject(fresh(), (_c, state) => run(table(state)))
}

describe('the refresh claim', () => {
  it('goes to one reader of a cold or stale snapshot, the others are told a refresh is under way', () =>
    onTable((t) => {
      const first = t.view(SETTINGS, 1_000)
      expect([first.state, first.claim !== null, first.revalidating]).toEqual(['cold', true, false])
      const second = t.view(SETTINGS, 1_001)
      expect([second.state, second.claim, second.revalidating]).toEqual(['cold', null, true])
      expect(t.store(first.claim, 1_000, '{}', [cert('a')])).toBe(1)
      const served = t.view(SETTINGS, 2_000)
      expect([served.state, served.claim, served.items.map((i) => i.id)]).toEqual([
        'fresh',
        null,
        ['a'],
      ])
      // Stale: one claim again.
      const stale = t.view(SETTINGS, 31_000)
      expect([stale.state, stale.claim !== null]).toEqual(['stale', true])
      expect(t.view(SETTINGS, 31_001).revalidating).toBe(true)
      // A claimant that died: the claim lapses.
      expect(t.view(SETTINGS, 31_000 + SETTINGS.claimMs + 1).claim).not.toBeNull()
    }))
})

describe('a refresh and the writes made through the gateway', () => {
  it('keeps an upload written after its list was asked for, and never brings back a delete', () =>
    onTable((t) => {
      const { claim } = t.view(SETTINGS, 1_000)
      t.store(claim, 1_000, '{}', [cert('a'), cert('b')])
      // The list of the next refresh is asked for at 40 s; meanwhile c is uploaded, b deleted,
      // a renamed; the list, answered before those, still has b and neither c nor the new name.
      t.put(cert('c'), 40_500)
      t.remove('b', 40_600)
      t.put(cert('a', 'renamed'), 40_700)
      const revision = t.store(null, 40_000, '{}', [cert('a'), cert('b')])
      const view = t.view(SETTINGS, 41_000)
      expect(view.revision).toBe(revision)
      expect(view.items.map((i) => [i.id, i.name])).toEqual([
        ['a', 'renamed'],
        ['c', 'c'],
      ])
      // The refresh after them sees the upstream's word only.
      t.store(null, 50_000, '{}', [cert('a'), cert('b')])
      expect(t.view(SETTINGS, 50_001).items.map((i) => i.id)).toEqual(['a', 'b'])
    }))

  it('ignores a list older than the one it holds, and writes nothing through while cold', () =>
    onTable((t) => {
      expect(t.put(cert('x'), 500)).toBe(0)
      expect(t.remove('x', 500)).toBe(0)
      t.store(null, 10_000, '{}', [cert('new')])
      t.store(null, 5_000, '{}', [cert('old')])
      const view = t.view(SETTINGS, 10_001)
      expect([view.fetchedAtMs, view.items.map((i) => i.id)]).toEqual([10_000, ['new']])
    }))

  it('grows the revision with every change', () =>
    onTable((t) => {
      const revisions = [
        t.store(null, 1_000, '{}', []),
        t.put(cert('a'), 1_100),
        t.put(cert('a', 'again'), 1_200),
        t.remove('a', 1_300),
        t.store(null, 2_000, '{}', [cert('a')]),
      ]
      expect(revisions).toEqual([1, 2, 3, 4, 5])
    }))
})

describe('one certificate', () => {
  it('is read alone, unless the reader is granted the claim (the refresh hook needs it all)', () =>
    onTable((t) => {
      t.store(t.view(SETTINGS, 1_000).claim, 1_000, '{}', [cert('a'), cert('b')])
      expect(t.view(SETTINGS, 2_000, 'b').items.map((i) => i.id)).toEqual(['b'])
      expect(t.view(SETTINGS, 2_000, 'zz').items).toEqual([])
      expect(t.view(SETTINGS, 40_000, 'b').items.map((i) => i.id)).toEqual(['a', 'b'])
    }))
})

describe('a reader that holds the list', () => {
  const held = (v: { epoch: string; revision: number }) => heldKey(v)

  it('is told it is unchanged, without the items, until any change', () =>
    onTable((t) => {
      t.store(t.view(SETTINGS, 1_000).claim, 1_000, '{}', [cert('a'), cert('b')])
      const first = t.view(SETTINGS, 2_000)
      expect(first.items.map((i) => i.id)).toEqual(['a', 'b'])
      const again = t.view(SETTINGS, 2_001, undefined, held(first))
      expect([again.unchanged, again.items, again.revision]).toEqual([true, [], first.revision])
      // Each change makes what it holds out of date: the items come again.
      const changes: [string, () => unknown][] = [
        ['upload', () => t.put(cert('c'), 2_100)],
        ['delete', () => t.remove('a', 2_200)],
        ['refresh', () => t.store(null, 2_300, '{}', [cert('b')])],
      ]
      let before = again
      for (const [what, change] of changes) {
        change()
        const after = t.view(SETTINGS, 2_400, undefined, held(before))
        expect([what, after.unchanged, after.revision]).toEqual([
          what,
          undefined,
          before.revision + 1,
        ])
        before = after
      }
      expect(before.items.map((i) => i.id)).toEqual(['b'])
    }))

  it('is sent the items when it is granted the refresh claim, or reads one certificate', () =>
    onTable((t) => {
      t.store(t.view(SETTINGS, 1_000).claim, 1_000, '{}', [cert('a')])
      const key = held(t.view(SETTINGS, 2_000))
      expect(t.view(SETTINGS, 2_000, 'a', key).items.map((i) => i.id)).toEqual(['a'])
      const stale = t.view(SETTINGS, 40_000, undefined, key)
      expect([stale.claim !== null, stale.unchanged, stale.items.length]).toEqual([
        true,
        undefined,
        1,
      ])
    }))

  it('of a snapshot forgotten and rebuilt to the same revision is sent the new items', () =>
    onTable((t) => {
      t.store(t.view(SETTINGS, 1_000).claim, 1_000, '{}', [cert('a')])
      const before = t.view(SETTINGS, 2_000)
      t.forget()
      t.store(t.view(SETTINGS, 3_000).claim, 3_000, '{}', [cert('other')])
      const after = t.view(SETTINGS, 4_000, undefined, held(before))
      expect(after.revision).toBe(before.revision)
      expect([after.unchanged, after.items.map((i) => i.id)]).toEqual([undefined, ['other']])
    }))
})
