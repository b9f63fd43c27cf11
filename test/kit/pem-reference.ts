/**
 * The PEM reader as it was before issue 19 (two regexes that rescan: quadratic on some inputs),
 * kept as the oracle that src/lib/pem.ts's linear scans are compared with, match for match
 * (test/unit/pem.test.ts). Only ever run on small inputs.
 */
import type { PemBlock, PemHeader } from '../../src/lib/pem'

// PemConverter's grammar (after `\r` is dropped): BEGIN line, optional `Key: value` header lines
// (a value may continue on lines that start with a space) and a blank line, base64 lines, END line
// with the same label.
const LABEL = '[^\\n]+(?=-{5})'
const HEADER = '[^:\\n]+: (?:[^\\n]+\\n(?: +[^\\n]+\\n)*)'
const BASE64_LINES = '(?:[a-zA-Z0-9=+/]+\\n)+'
const PEM = `-{5}BEGIN (${LABEL})-{5}\\n(?:((?:${HEADER})+))?\\n?(${BASE64_LINES})-{5}END \\1-{5}`

// Any complete block, however damaged inside: what must account for all of the text.
const ANY_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g

// Padded base64 as pvtsutils (PemConverter's decoder) requires it.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

function decodeBase64(lines: string): ArrayBuffer | undefined {
  const text = lines.replace(/\s/g, '')
  if (!BASE64.test(text)) return undefined
  // A plain loop: Uint8Array.from(string, mapper) runs the iterator protocol and a callback per
  // byte, several times slower, and a list's adoption check decodes every candidate's PEM.
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes.buffer
}

/** Header lines as PemConverter splits them; undefined where it would throw. */
function parseHeaders(text: string | undefined): PemHeader[] | undefined {
  if (!text) return []
  const headers: PemHeader[] = []
  let last: PemHeader | undefined
  for (const line of text.split('\n')) {
    const [key = '', value] = line.split(/:(.*)/)
    if (value === undefined) {
      if (last === undefined) return undefined
      last.value += key.trim()
    } else {
      if (last !== undefined) headers.push(last)
      last = { key, value: value.trim() }
    }
  }
  if (last !== undefined) headers.push(last)
  return headers
}

/**
 * The blocks of `text`, or undefined when it is not PEM and nothing else: text outside the
 * blocks, a block that does not match the grammar, or base64 that does not decode.
 */
export function referenceDecodePem(text: string): PemBlock[] | undefined {
  if (text.replace(ANY_BLOCK, '').trim() !== '') return undefined
  const unix = text.replace(/\r/g, '')
  const blocks: PemBlock[] = []
  for (const match of unix.matchAll(new RegExp(PEM, 'g'))) {
    const headers = parseHeaders(match[2])
    const der = decodeBase64(match[3] ?? '')
    if (headers === undefined || der === undefined) return undefined
    blocks.push({ type: match[1] ?? '', headers, der })
  }
  return blocks.length === (text.match(ANY_BLOCK) ?? []).length ? blocks : undefined
}
