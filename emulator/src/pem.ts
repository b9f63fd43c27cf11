/**
 * Owns: splitting PEM text into blocks the way Go's `encoding/pem` does, which the upstream
 * evidently uses (its `issuer` and `signature` strings are Go's, contract §4) [I]:
 *
 * - text outside `-----BEGIN X-----` … `-----END X-----` is skipped;
 * - lines right after BEGIN that contain a colon are RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`,
 *   `DEK-Info: …`), kept by name and not part of the data;
 * - the rest, whitespace removed, must be base64.
 *
 * A block whose END names another type, or whose data is not base64, makes the whole text
 * malformed (`undefined`): an upload is refused rather than half read.
 */

export type PemBlock = {
  type: string
  /** Header name → value, both trimmed, as Go's `pem.Block.Headers`. */
  headers: Record<string, string>
  der: Uint8Array
}

const PEM_BLOCK = /-----BEGIN ([^-\r\n]*)-----([\s\S]*?)-----END ([^-\r\n]*)-----/g

function readBlock(type: string, body: string): PemBlock | undefined {
  const lines = body.split(/\r?\n/)
  // The BEGIN line's own end leaves an empty first line.
  if (lines[0]?.trim() === '') lines.shift()
  const headers: Record<string, string> = {}
  while (lines[0]?.includes(':')) {
    const line = lines.shift() ?? ''
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim()
  }
  const base64 = lines.join('').replace(/\s+/g, '')
  if (base64.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined
  try {
    return { type, headers, der: Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)) }
  } catch {
    return undefined
  }
}

/** Every block of `text` in order; `undefined` if any block is malformed. */
export function readPemBlocks(text: string): PemBlock[] | undefined {
  const blocks: PemBlock[] = []
  for (const [, begin = '', body = '', end] of text.matchAll(PEM_BLOCK)) {
    if (begin !== end) return undefined
    const block = readBlock(begin, body)
    if (block === undefined) return undefined
    blocks.push(block)
  }
  return blocks
}
