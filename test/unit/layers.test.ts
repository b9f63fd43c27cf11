/**
 * The floors of src/ (test/kit/floors.ts, CONTRIBUTING "Imports run one way"): lib/ is the ground
 * floor and imports no feature folder; no import runs up a floor, type-only ones included, except
 * those CONTRIBUTING justifies one by one (`ALLOWED_UPWARD`); no import circle; and the review
 * side (the console's pages, every handler) reads the audit log and the coordinator through the
 * request scope's ports, never through a binding.
 */
import { describe, expect, it } from 'vitest'
import { ALLOWED_UPWARD, circles, floorOf, importsOf, upward } from '../kit/floors'

declare global {
  interface ImportMeta {
    glob(
      pattern: string | string[],
      options: { query: '?raw'; import: 'default'; eager: true },
    ): Record<string, string>
  }
}

const raw = import.meta.glob(['../../src/**/*.ts', '../../src/**/*.tsx', '!**/*.d.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
})
/** Every module by its path under src/ (`audit/store.ts`). */
const sources = Object.fromEntries(
  Object.entries(raw).map(([path, source]) => [path.replace('../../src/', ''), source]),
)
const imports = importsOf(sources)

describe('src/lib', () => {
  const files = Object.entries(sources).filter(([path]) => path.startsWith('lib/'))

  it('is read whole (the glob found its modules)', () => {
    expect(files.map(([path]) => path)).toEqual(
      expect.arrayContaining(['lib/encoding.ts', 'lib/ids.ts', 'lib/query.ts', 'lib/errors.ts']),
    )
  })

  it.each(files)('%s imports no feature folder', (path) => {
    const outside = imports.filter((i) => i.from === path && !i.to.startsWith('lib/'))
    expect(outside).toEqual([])
  })
})

describe('the floors', () => {
  it('read every module and every import (the glob and the parser found them)', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(100)
    expect(imports.filter((i) => i.to.endsWith('(unresolved)'))).toEqual([])
    // One of each kind the parser must see: a value import, a type-only one, a re-export.
    expect(imports).toEqual(
      expect.arrayContaining([
        { from: 'app.ts', to: 'pipe.ts', typeOnly: false },
        { from: 'kernel/scope.ts', to: 'kernel/operation.ts', typeOnly: true },
        { from: 'kernel/operation.ts', to: 'audit/record.ts', typeOnly: true },
      ]),
    )
  })

  it('place each kind of module where CONTRIBUTING says', () => {
    expect(
      [
        'lib/ids.ts',
        'coordinator/client.ts',
        'kernel/scope-for.ts',
        'certificates/operations.ts',
        'audit/handlers.ts',
        'console/audit-page.tsx',
        'audit/checkpoints-cron.ts',
        'app.ts',
      ].map(floorOf),
    ).toEqual(['lib', 'stores', 'kernel', 'operations', 'handlers', 'handlers', 'handlers', 'app'])
  })

  it('leave no import running up but the justified ones', () => {
    const allowed = ALLOWED_UPWARD.map((a) => a.import)
    expect(upward(imports).filter((line) => !allowed.includes(line))).toEqual([])
    // A justification whose import is gone goes too.
    expect(allowed.filter((line) => !upward(imports).includes(line))).toEqual([])
  })

  it('hold no import circle', () => {
    expect(circles(imports)).toEqual([])
  })

  it('would see a circle and an import running up (the checks can fail)', () => {
    const made = importsOf({
      'lib/a.ts': "import { b } from '../audit/b'",
      'audit/b.ts': "import type { a } from '../lib/a'",
    })
    expect(circles(made)).toEqual([['audit/b.ts', 'lib/a.ts']])
    expect(upward(made)).toEqual(['lib/a.ts → audit/b.ts'])
  })
})

describe('the review side', () => {
  /** The console's pages and every handler: they call operations on the scope. */
  const reviewers = Object.entries(sources).filter(
    ([path]) => path.startsWith('console/') || path.endsWith('/handlers.ts'),
  )
  /** The console's own store (sessions) is its to read; no other binding is. */
  const OWN = new Set(['CONSOLE_SESSIONS'])

  it.each(reviewers)('%s reads no binding but its own', (_path, source) => {
    const read = [...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!)
    expect(read.filter((binding) => !OWN.has(binding))).toEqual([])
  })

  /** The modules that read the audit namespace or reach the coordinator, or build their ports. */
  const READERS = [
    'audit/audit-log.ts',
    'audit/export.ts',
    'audit/store.ts',
    'audit/verify-chain.ts',
    'audit/verify.ts',
    'coordinator/client.ts',
    'kernel/scope-for.ts',
  ]

  it.each(reviewers)(
    '%s reaches the log and the coordinator only through the scope',
    (path, source) => {
      const direct = imports.filter((i) => i.from === path && !i.typeOnly && READERS.includes(i.to))
      expect(direct.map((i) => i.to)).toEqual([])
      // query.ts also holds the cursor's encoding, which pages use; its readers are not theirs.
      expect(source).not.toMatch(/(?<![.\w])(?:runQuery|entries)\(/)
    },
  )

  it('would see a page reading the audit namespace (the check can fail)', () => {
    const source = 'const page = await runQuery(c.env.AUDIT, query)'
    expect([...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1])).toEqual(['AUDIT'])
  })
})
