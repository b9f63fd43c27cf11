/**
 * lib/encoding.ts: the hex and base64url that key hashes, fingerprints, request ids, gateway keys,
 * audit signatures and audit cursors are written in.
 */
import { describe, expect, it } from 'vitest'
import { encodeCursor, positionOf } from '../../src/audit/query'
import { base64url, fromBase64url, hex } from '../../src/lib/encoding'

const text = (s: string) => new TextEncoder().encode(s)

describe('hex', () => {
  it('writes two lowercase digits per byte, from bytes or a buffer', () => {
    expect(hex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe('00010f10abff')
    expect(hex(new Uint8Array([0xde, 0xad]).buffer)).toBe('dead')
    expect(hex(new Uint8Array())).toBe('')
  })

  it('spells a SHA-256 the way the policy stores key hashes', async () => {
    expect(hex(await crypto.subtle.digest('SHA-256', text('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })
})

describe('base64url', () => {
  // RFC 4648 section 10, padding removed; then the two characters base64url renames.
  it.each([
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ])('encodes %j as %j and back', (plain, encoded) => {
    expect(base64url(text(plain))).toBe(encoded)
    expect(fromBase64url(encoded)).toEqual(text(plain))
  })

  it('uses - and _ where base64 has + and /', () => {
    expect(base64url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_')
    expect(base64url(new Uint8Array([0xfb, 0xff]).buffer)).toBe('-_8')
  })

  it('round-trips every length of random bytes', () => {
    for (let length = 0; length <= 66; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length))
      const encoded = base64url(bytes)
      expect(encoded).toMatch(/^[A-Za-z0-9_-]*$/)
      expect(encoded).toHaveLength(Math.ceil((length * 4) / 3))
      expect(fromBase64url(encoded)).toEqual(bytes)
    }
  })

  it.each([
    ['padding', 'Zg=='],
    ['base64 characters', '+/8'],
    ['whitespace', 'Zm9v Yg'],
    ['a length that is no whole number of bytes', 'Zm9vY'],
    ['other characters', 'Zm9v*'],
  ])('refuses %s', (_, encoded) => {
    expect(fromBase64url(encoded)).toBeUndefined()
  })
})

describe('audit cursors', () => {
  const position = { prefix: 'v1:e:8203', after: '8203921234567:' + '0'.repeat(36) }

  it('round-trip through base64url', () => {
    const cursor = encodeCursor(position)
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(new TextDecoder().decode(fromBase64url(cursor))).toBe(
      JSON.stringify({ p: position.prefix, a: position.after }),
    )
    expect(positionOf(cursor)).toEqual(position)
  })

  it('refuse a cursor that is not base64url, as one the gateway did not write', () => {
    const cursor = encodeCursor(position)
    for (const bad of [
      cursor + '=',
      ` ${cursor}`,
      encodeCursor({ prefix: 'v1:team:x:', after: '' }),
    ])
      expect(() => positionOf(bad)).toThrow(
        expect.objectContaining({ errors: [expect.objectContaining({ code: 18103 })] }),
      )
  })
})
