/**
 * The error table of docs/errors.md is the contract callers code against: it must match the code
 * table. (test/cli/docs.test.ts checks that the README and the guides link to it, and every other
 * link they hold.)
 */
import { describe, expect, it } from 'vitest'
import errorsGuide from '../../docs/errors.md?raw'
import { ERROR_CODES } from '../../src/lib/errors'

const documented = new Map(
  [...errorsGuide.matchAll(/^\|\s*(\d{4,5})\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [
    Number(m[1]),
    Number(m[2]),
  ]),
)

describe('the error table of docs/errors.md', () => {
  it.each(Object.entries(ERROR_CODES))('documents %s with its status', (_, { code, status }) => {
    expect(documented.get(code)).toBe(status)
  })

  it('documents no code the gateway does not have', () => {
    const known = new Set<number>(Object.values(ERROR_CODES).map((e) => e.code))
    expect([...documented.keys()].filter((code) => !known.has(code))).toEqual([])
  })

  it('never gives two kinds the same code', () => {
    const codes = Object.values(ERROR_CODES).map((e) => e.code)
    expect(new Set(codes).size).toBe(codes.length)
  })
})
