/**
 * PEM text → blocks (type, RFC 1421 header lines, the DER bytes), read exactly as
 * @peculiar/x509's `PemConverter.decodeWithHeaders` reads it (the gateway used it until the
 * bundle dropped @peculiar/x509; its grammar is kept so that what was accepted still is), plus two
 * rules it lacks: no text outside the blocks, and every block must decode (PemConverter silently
 * skips one it cannot match, so a damaged second certificate would vanish from the count while the
 * whole text was still forwarded).
 *
 * Knows nothing of what a block holds; `inspect-pem.ts` decides that. Imports nothing.
 *
 * Linear time. The grammar was two regexes, and both rescanned: for each `-----BEGIN X-----` a lazy
 * `[\s\S]*?` ran to the end of the text looking for its END, and the block grammar's label,
 * header and base64 runs did the same (lines of `-----BEGIN A-----` cost 28-187 ms per 64 KiB).
 * They are now scans that never look at a character twice but a bounded number of times, with the
 * same results as the regexes, match for match (test/unit/pem.test.ts compares them):
 *   - `coverage`: every END marker is indexed once by label, so each BEGIN finds the first END of
 *     its label after it by moving a per-label cursor forward;
 *   - `blocks`: each line is classified once (header, header continuation, blank, base64), the
 *     runs a block may take are worked out once from the end, and the BEGIN lines that share one
 *     line's end share one Z-array that says which of their labels the END line repeats.
 * `work.steps` (optional) counts what the scans touch, so a test can bound it.
 */

export interface PemHeader {
  key: string
  value: string
}

export interface PemBlock {
  /** The label after BEGIN, e.g. `CERTIFICATE`, `EC PRIVATE KEY`. */
  type: string
  headers: PemHeader[]
  der: ArrayBuffer
}

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

/** What a decode touched, counted by the scans: characters looked at and lines classified. */
export interface PemWork {
  steps: number
}

// The grammar as PemConverter's regex has it, after `\r` is dropped. A block is
//   `-----BEGIN <label>-----\n`   the label is the rest of the line before its last five dashes;
//   header lines, optionally       `<key without ':'>: <value>`, then continuation lines that start
//                                  with a space and hold something after it;
//   a blank line, optionally;
//   base64 lines, at least one     `[a-zA-Z0-9=+/]+`, each ending in `\n`;
//   `-----END <label>-----`        at the start of the next line, nothing required after it.
// And for the coverage check (on the text as sent), any `-----BEGIN X-----`, X in [A-Z0-9 ]+, up
// to the first `-----END X-----` after it: what must account for all of the text but whitespace.
const BEGIN = '-----BEGIN '
const END = '-----END '
const DASHES = '-----'
const BASE64_LINE = /^[a-zA-Z0-9=+/]+$/
const COVERAGE_LABEL = /[A-Z0-9 ]/
const NOT_WHITESPACE = /\S/

/** The end of the run of [A-Z0-9 ] starting at `from`. */
function labelEnd(text: string, from: number, work: PemWork): number {
  let i = from
  while (i < text.length && COVERAGE_LABEL.test(text[i]!)) i++
  work.steps += i - from + 1
  return i
}

/**
 * The coverage regex's matches, in order, as [start, end) pairs: each `-----BEGIN X-----` (X the
 * whole run of [A-Z0-9 ] after it, followed by five dashes) with the first `-----END X-----` that
 * starts after it; a BEGIN without one is no match, and the search goes on after its first dash.
 */
function coverage(text: string, work: PemWork): [number, number][] {
  // Every END marker, by label, in order: `-----END ` cannot overlap itself, so indexOf finds all.
  const ends = new Map<string, { at: number[]; next: number }>()
  for (let q = text.indexOf(END); q !== -1; q = text.indexOf(END, q + END.length)) {
    const stop = labelEnd(text, q + END.length, work)
    if (stop === q + END.length || !text.startsWith(DASHES, stop)) continue
    const label = text.slice(q + END.length, stop)
    const list = ends.get(label) ?? { at: [], next: 0 }
    list.at.push(q)
    ends.set(label, list)
  }
  const matches: [number, number][] = []
  let from = 0
  for (let i = text.indexOf(BEGIN, from); i !== -1; i = text.indexOf(BEGIN, from)) {
    work.steps += i - from + 1
    const start = i + BEGIN.length
    const stop = labelEnd(text, start, work)
    from = i + 1
    if (stop === start || !text.startsWith(DASHES, stop)) continue
    const label = text.slice(start, stop)
    const list = ends.get(label)
    if (list === undefined) continue
    // BEGINs come in order, so each label's cursor only moves forward.
    while (list.next < list.at.length && list.at[list.next]! < stop + DASHES.length) {
      list.next++
      work.steps++
    }
    const q = list.at[list.next]
    if (q === undefined) continue
    const end = q + END.length + label.length + DASHES.length
    matches.push([i, end])
    from = end
  }
  return matches
}

/** True when nothing but whitespace lies outside `matches` (what `replace(...).trim()` asked). */
function coversAll(text: string, matches: [number, number][], work: PemWork): boolean {
  let at = 0
  for (const [start, end] of [...matches, [text.length, text.length] as [number, number]]) {
    work.steps += start - at + 1
    if (NOT_WHITESPACE.test(text.slice(at, start))) return false
    at = end
  }
  return true
}

const enum Line {
  Other,
  Header,
  Continuation,
  Blank,
  Base64,
}

/** Each line of `text` classified once; a last line without `\n` after it is `Other`. */
function classify(text: string, work: PemWork) {
  const starts: number[] = []
  const kinds: Line[] = []
  let start = 0
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
    const line = text.slice(start, nl)
    work.steps += line.length + 1
    const colon = line.indexOf(':')
    starts.push(start)
    kinds.push(
      line === ''
        ? Line.Blank
        : colon > 0 && line[colon + 1] === ' ' && line.length > colon + 2
          ? Line.Header
          : line[0] === ' ' && line.length >= 2
            ? Line.Continuation
            : BASE64_LINE.test(line)
              ? Line.Base64
              : Line.Other,
    )
    start = nl + 1
  }
  starts.push(start)
  kinds.push(Line.Other)
  // For each line, the first line at or after it that ends its header run or its base64 run.
  const afterHeaders = new Int32Array(kinds.length)
  const afterBase64 = new Int32Array(kinds.length)
  for (let j = kinds.length - 1; j >= 0; j--) {
    const kind = kinds[j]
    const last = j + 1 < kinds.length
    afterHeaders[j] =
      (kind === Line.Header || kind === Line.Continuation) && last ? afterHeaders[j + 1]! : j
    afterBase64[j] = kind === Line.Base64 && last ? afterBase64[j + 1]! : j
  }
  work.steps += kinds.length
  return { starts, kinds, afterHeaders, afterBase64 }
}

/** The index of the line that starts at `offset` (a line start, by construction). */
function lineAt(starts: number[], offset: number, work: PemWork): number {
  work.steps += Math.ceil(Math.log2(starts.length + 1))
  let low = 0
  let high = starts.length - 1
  while (low < high) {
    const mid = (low + high) >> 1
    if (starts[mid]! < offset) low = mid + 1
    else high = mid
  }
  return low
}

/** Z-array of `s`: z[k] is the length of the longest common prefix of `s` and `s.slice(k)`. */
function zArray(s: string, work: PemWork): Int32Array {
  const z = new Int32Array(s.length)
  let left = 0
  let right = 0
  for (let k = 1; k < s.length; k++) {
    if (k < right) z[k] = Math.min(right - k, z[k - left]!)
    while (k + z[k]! < s.length && s[z[k]!] === s[k + z[k]!]) z[k]!++
    if (k + z[k]! > right) {
      left = k
      right = k + z[k]!
    }
  }
  work.steps += 2 * s.length
  return z
}

interface RawBlock {
  type: string
  headers: string | undefined
  base64: string
}

/**
 * What follows one BEGIN line (ending at `nl`): where its header run and base64 lines are, and
 * where the END line must start. Every BEGIN of the same line shares it.
 */
interface Tail {
  nl: number
  headers: [number, number] | undefined
  base64: [number, number]
  /** Where `-----END ` was found, or -1: then no BEGIN of this line makes a block. */
  end: number
  /** The Z-array the line's BEGINs share, and where its second part starts, less its offset. */
  z?: { from: number; values: Int32Array }
}

/** The block grammar's matches, in order (none that overlap), as its regex would find them. */
function blocks(text: string, work: PemWork): RawBlock[] {
  const { starts, kinds, afterHeaders, afterBase64 } = classify(text, work)
  const found: RawBlock[] = []
  let tail: Tail | undefined
  let from = 0
  for (let i = text.indexOf(BEGIN, from); i !== -1; i = text.indexOf(BEGIN, from)) {
    work.steps += i - from + 1
    from = i + 1
    const start = i + BEGIN.length
    if (tail === undefined || tail.nl < start) {
      const nl = text.indexOf('\n', start)
      work.steps += nl === -1 ? text.length - start : nl - start
      if (nl === -1) break // no later BEGIN has a line end either
      let j = lineAt(starts, nl + 1, work)
      const headerStart = j
      if (kinds[j] === Line.Header) j = afterHeaders[j]!
      const headers: [number, number] | undefined =
        j > headerStart ? [starts[headerStart]!, starts[j]!] : undefined
      if (kinds[j] === Line.Blank) j++
      const base64Start = j
      j = afterBase64[j]!
      const end = j > base64Start && text.startsWith(END, starts[j]!) ? starts[j]! : -1
      tail = { nl, headers, base64: [starts[base64Start]!, starts[j]!], end }
    }
    // The label is the rest of the BEGIN line but its last five dashes, at least one character.
    const labelStop = tail.nl - DASHES.length
    if (labelStop <= start || !text.startsWith(DASHES, labelStop) || tail.end === -1) continue
    // The END line must repeat `<label>-----`, i.e. text[start, nl) (the BEGIN line's rest).
    // Every BEGIN of this line asks the same of one END line, each about a suffix of the line:
    // one Z-array over `<what follows -----END >\n<the line from the first BEGIN's label>`
    // answers them all (the suffix matches when its Z value is its whole length).
    if (tail.z === undefined) {
      const after = tail.end + END.length
      const probe = text.slice(after, after + (tail.nl - start))
      tail.z = {
        from: start - probe.length - 1,
        values: zArray(`${probe}\n${text.slice(start, tail.nl)}`, work),
      }
    }
    const rest = tail.nl - start
    if (tail.z.values[start - tail.z.from]! < rest) continue
    const type = text.slice(start, labelStop)
    found.push({
      type,
      headers: tail.headers && text.slice(...tail.headers),
      base64: text.slice(...tail.base64),
    })
    from = tail.end + END.length + rest
  }
  return found
}

/**
 * The blocks of `text`, or undefined when it is not PEM and nothing else: text outside the
 * blocks, a block that does not match the grammar, or base64 that does not decode.
 */
export function decodePem(text: string, work: PemWork = { steps: 0 }): PemBlock[] | undefined {
  const covered = coverage(text, work)
  if (!coversAll(text, covered, work)) return undefined
  const unix = text.replace(/\r/g, '')
  const decoded: PemBlock[] = []
  for (const block of blocks(unix, work)) {
    const headers = parseHeaders(block.headers)
    const der = decodeBase64(block.base64)
    if (headers === undefined || der === undefined) return undefined
    decoded.push({ type: block.type, headers, der })
  }
  return decoded.length === covered.length ? decoded : undefined
}
