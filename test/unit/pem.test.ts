/**
 * The PEM reader's scans (src/lib/pem.ts): the same blocks as the regexes they replaced
 * (test/kit/pem-reference.ts) on every input, valid or not, and work linear in the input on the
 * inputs that made those regexes quadratic: `work.steps` counts what the scans touch, so the bound
 * is asserted on the count, not on a clock (bench/cpu.ts times it).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hex } from '../../src/lib/encoding'
import { decodePem, type PemBlock, type PemWork } from '../../src/lib/pem'
import { exampleCa, exampleKey } from '../kit/fixtures'
import { referenceDecodePem } from '../kit/pem-reference'

const shown = (blocks: PemBlock[] | undefined) =>
  blocks?.map((b) => ({ type: b.type, headers: b.headers, der: hex(b.der) }))

/** Lines and pieces PEM is made of, and the ones that broke the regexes, to be shuffled. */
const piece = fc.constantFrom(
  '-----BEGIN CERTIFICATE-----\n',
  '-----END CERTIFICATE-----\n',
  '-----END CERTIFICATE-----',
  '-----BEGIN A-----\n',
  '-----END A-----\n',
  '-----BEGIN A-----',
  '-----BEGIN A: B-----\n',
  '-----END A: B-----\n',
  '-----BEGIN A-----BEGIN A-----\n',
  '-----END A-----BEGIN A-----\n',
  '-----BEGIN -----\n',
  '------BEGIN A------\n',
  'Proc-Type: 4,ENCRYPTED\n',
  'DEK-Info: AES-128-CBC,00\n',
  ' continued\n',
  'Key:value\n',
  'TUlJQg==\n',
  'TUlJ\n',
  'AAAA\n',
  'AAA\n',
  'A\n',
  '!!!!\n',
  '\n',
  '\r\n',
  ' ',
  '-----',
  'x',
)

describe('decodePem', () => {
  it('reads the example CA, a chain and a key as the regexes did', () => {
    for (const text of [
      exampleCa,
      `${exampleCa}\n${exampleCa}`,
      exampleKey,
      `\r\n${exampleCa}\r\n`,
    ]) {
      const blocks = decodePem(text)
      expect(blocks).toBeDefined()
      expect(shown(blocks)).toEqual(shown(referenceDecodePem(text)))
    }
  })

  it('finds the same blocks as the regexes, or refuses the same texts, on any mix of PEM lines', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join('')
        expect(shown(decodePem(text))).toEqual(shown(referenceDecodePem(text)))
      }),
      { numRuns: 3_000 },
    )
  })

  it('agrees with the regexes on blocks with headers, blanks and labels of any characters', () => {
    const label = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('CERTIFICATE', 'A', 'EC PRIVATE KEY') },
      {
        weight: 1,
        arbitrary: fc.string({ unit: fc.constantFrom('A', ' ', '-', ':', 'b'), maxLength: 6 }),
      },
    )
    const line = fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom('TUlJ\n', 'QUJD\n', 'AAAA\n') },
      {
        weight: 2,
        arbitrary: fc.constantFrom('Proc-Type: 4,ENCRYPTED\n', 'K: v\n', ' c\n', '\n', '\r\n'),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('QQ==\n', 'x\n', ' \n', 'K:v\n', '-----BEGIN A-----\n'),
      },
    )
    const block = fc
      .tuple(label, fc.option(label, { freq: 5 }), fc.array(line, { maxLength: 6 }))
      .map(
        ([begin, end, lines]) =>
          `-----BEGIN ${begin}-----\n${lines.join('')}-----END ${end ?? begin}-----`,
      )
    fc.assert(
      fc.property(
        fc.array(fc.tuple(block, fc.constantFrom('\n', '\n', '\r\n', '', ' ', 'x', '\n\n')), {
          maxLength: 4,
        }),
        (parts) => {
          const text = parts.map(([b, after]) => b + after).join('')
          expect(shown(decodePem(text))).toEqual(shown(referenceDecodePem(text)))
        },
      ),
      { numRuns: 5_000 },
    )
  })

  const MIB = 1 << 20
  const fill = (unit: string) => unit.repeat(Math.ceil(MIB / unit.length)).slice(0, MIB)

  it.each([
    ['BEGIN lines', fill('-----BEGIN A-----\n')],
    ['BEGIN lines that look like headers', fill('-----BEGIN A: B-----\n')],
    ['BEGINs on one line', `${fill('-----BEGIN A')}-----\nAAAA\n-----END A-----BEGIN A-----\n`],
    ['BEGIN without END', `-----BEGIN CERTIFICATE-----\n${fill('AAAA')}`],
    ['long base64 without END', `-----BEGIN A-----\n${fill('AAAAAAAAAAAAAAA\n')}`],
    ['BEGIN and base64 lines', fill('-----BEGIN A-----\nAAAA\n')],
    ['ENDs of other labels', fill('-----BEGIN A-----\n-----END B-----\n')],
    ['dashes', fill('-')],
  ])('reads 1 MiB of %s with work linear in its length', (_, text) => {
    const work: PemWork = { steps: 0 }
    expect(decodePem(text, work)).toBeUndefined()
    expect(work.steps).toBeLessThan(12 * text.length)
  })

  it('reads 1 MiB of valid certificates with work linear in its length', () => {
    const text = `${exampleCa}\n`.repeat(Math.ceil(MIB / (exampleCa.length + 1)))
    const work: PemWork = { steps: 0 }
    expect(decodePem(text, work)?.length).toBeGreaterThan(100)
    expect(work.steps).toBeLessThan(12 * text.length)
  })
})
