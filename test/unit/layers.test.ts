/**
 * lib/ is the ground floor: its modules may import packages and each other, never a feature folder
 * (or config, or the app), so that every feature can use them without a cycle.
 */
import { describe, expect, it } from 'vitest'

declare global {
  interface ImportMeta {
    glob(
      pattern: string,
      options: { query: '?raw'; import: 'default'; eager: true },
    ): Record<string, string>
  }
}

const sources = import.meta.glob('../../src/lib/*.ts', {
  query: '?raw',
  import: 'default',
  eager: true,
})

const importsOf = (source: string) =>
  [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?(?:from\s+)?'([^']+)'/gm)].map((m) => m[1]!)

describe('src/lib', () => {
  const files = Object.entries(sources).map(([path, source]) => [path.split('/').pop()!, source])

  it('is read whole (the glob found its modules)', () => {
    expect(files.map(([name]) => name)).toEqual(
      expect.arrayContaining(['encoding.ts', 'ids.ts', 'query.ts', 'uuidv7.ts', 'errors.ts']),
    )
  })

  it.each(files)('%s imports no feature folder', (_name, source) => {
    const upward = importsOf(source).filter((specifier) => specifier.startsWith('../'))
    expect(upward).toEqual([])
  })
})
