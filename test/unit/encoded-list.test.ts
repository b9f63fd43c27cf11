/**
 * Encoded list answers kept per isolate (snapshot/encoded.ts, issue 21): the bytes are always
 * those of `JSON.stringify` of the answer being given; they are reused only for the very same
 * certificate objects under the same envelope, and what is held stays under its bound.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { encodeJson } from '../../src/lib/encoded-json'
import { boundEncoded, encodedHeld, encodedList } from '../../src/snapshot/encoded'

const BOUND = 240_000
afterEach(() => boundEncoded())

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const frame = { errors: [], messages: [], success: true }
const info = (n: number) => ({ page: 1, per_page: 50, count: n, total_count: n, total_pages: 1 })
const envelopeOf = (result: { id: string; name?: string }[]) => ({
  ...frame,
  result,
  result_info: info(result.length),
})

describe('encodedList', () => {
  it('encodes what JSON.stringify gives, and reuses the bytes for the same objects', () => {
    const certificates = [
      { id: 'a', name: 'one\nline', pem: '-----BEGIN-----\n' },
      { id: 'b', name: 'é ünïcode' },
    ]
    const first = encodedList('acct-1', envelopeOf(certificates))
    expect(text(first.bytes)).toBe(JSON.stringify(envelopeOf(certificates)))
    // Another request: a new envelope and result array, the same certificate objects.
    const again = encodedList('acct-1', envelopeOf([...certificates]))
    expect(again).toBe(first)
  })

  it('makes new bytes when a certificate changed under the same id', () => {
    const before = [{ id: 'c', name: 'old' }]
    const first = encodedList('acct-2', envelopeOf(before))
    const after = [{ id: 'c', name: 'new' }]
    const second = encodedList('acct-2', envelopeOf(after))
    expect(second).not.toBe(first)
    expect(text(second.bytes)).toBe(JSON.stringify(envelopeOf(after)))
  })

  it('keys by the account, the envelope and the ids listed', () => {
    const certificates = [{ id: 'd' }, { id: 'e' }]
    const whole = encodedList('acct-3', envelopeOf(certificates))
    const other = encodedList('acct-4', envelopeOf(certificates))
    expect(other).not.toBe(whole)
    const part = encodedList('acct-3', envelopeOf(certificates.slice(0, 1)))
    expect(text(part.bytes)).toBe(JSON.stringify(envelopeOf(certificates.slice(0, 1))))
    const withMessage = { ...envelopeOf(certificates), messages: [{ code: 1, message: 'm' }] }
    expect(text(encodedList('acct-3', withMessage).bytes)).toBe(JSON.stringify(withMessage))
    // The members' order is part of the bytes, so of the key.
    const { result, ...rest } = envelopeOf(certificates)
    const reordered = { result, ...rest }
    expect(text(encodedList('acct-3', reordered).bytes)).toBe(JSON.stringify(reordered))
  })

  it('holds no more than its bound, the least recently used going first', () => {
    boundEncoded(BOUND)
    // Answers of about a twelfth of the bound each: at most twelve are held.
    const big = 'x'.repeat(Math.floor(BOUND / 12))
    const lists = Array.from({ length: 20 }, (_, i) => [{ id: `big-${i}`, pem: big }])
    const made = lists.map((list) => encodedList('acct-big', envelopeOf(list)))
    expect(encodedHeld().bytes).toBeLessThanOrEqual(BOUND)
    expect(encodedHeld().entries).toBeGreaterThanOrEqual(10)
    // The last one is still held (same bytes); the first was evicted (new bytes, equal text).
    expect(encodedList('acct-big', envelopeOf(lists[19]!))).toBe(made[19])
    const first = encodedList('acct-big', envelopeOf(lists[0]!))
    expect(first).not.toBe(made[0])
    expect(text(first.bytes)).toBe(text(made[0]!.bytes))
  })

  it('keeps an answer larger than the bound out, and still encodes it', () => {
    boundEncoded(BOUND)
    const huge = [{ id: 'huge', pem: 'y'.repeat(BOUND) }]
    const held = encodedHeld().bytes
    const encoded = encodedList('acct-huge', envelopeOf(huge))
    expect(encoded.bytes.byteLength).toBe(encodeJson(envelopeOf(huge)).bytes.byteLength)
    expect(encodedHeld().bytes).toBe(held)
  })
})
