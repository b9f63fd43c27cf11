/**
 * Encoded list answers served from the snapshot, kept per isolate (issue 21: the list of 1,000
 * under 5 ms of the gateway's CPU). Serialising and encoding a 1.6 MB answer on every request was
 * most of a list's CPU; the answer only changes when the snapshot, the owners, the caller's view
 * or the filter does, so it is encoded once and its bytes reused.
 *
 * The key is what the answer is made of, never a version number that could be reused (a
 * coordinator reset starts its revisions again): the account, the envelope's other members as
 * JSON (with their order) and the ids listed. A hit also needs the very certificate objects the
 * bytes were made from (`certificateOf` in serve.ts keeps one object per certificate text, so the
 * same object means the same text): a certificate changed under the same id is a miss. So the
 * bytes are always those of `JSON.stringify` of the answer being given, whoever asks.
 *
 * Values only (CONTRIBUTING "One request never waits on another"): bytes and object references,
 * never a promise. Bounded by size; the least recently used go first.
 */
import { encodeJson, type EncodedJson } from '../lib/encoded-json'

interface Entry {
  /** The result's objects the bytes were made from, in order. */
  objects: readonly unknown[]
  encoded: EncodedJson<unknown>
}

/** The most bytes kept per isolate (an isolate has 128 MB; a list of 1,000 is 1.6 MB). */
export const ENCODED_MAX_BYTES = 24 * 1024 * 1024
let maxBytes = ENCODED_MAX_BYTES

const entries = new Map<string, Entry>()
let heldBytes = 0

function keyOf(accountId: string, envelope: { result: readonly { id: string }[] }): string {
  const { result, ...rest } = envelope
  const ids = result.map((item) => item.id).join(' ')
  return `${accountId}\n${Object.keys(envelope).join(',')}\n${JSON.stringify(rest)}\n${ids}`
}

function sameObjects(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The encoded answer for this list envelope: reused when made of the same objects, else made. */
export function encodedList<T extends { result: readonly { id: string }[] }>(
  accountId: string,
  envelope: T,
): EncodedJson<T> {
  const key = keyOf(accountId, envelope)
  const known = entries.get(key)
  if (known !== undefined && sameObjects(known.objects, envelope.result)) {
    entries.delete(key) // most recently used last
    entries.set(key, known)
    return known.encoded as EncodedJson<T>
  }
  const encoded = encodeJson(envelope)
  if (known !== undefined) forget(key, known)
  const size = encoded.bytes.byteLength
  if (size <= maxBytes) {
    while (heldBytes + size > maxBytes) {
      const [oldest] = entries
      if (oldest === undefined) break
      forget(oldest[0], oldest[1])
    }
    entries.set(key, { objects: envelope.result.slice(), encoded })
    heldBytes += size
  }
  return encoded
}

function forget(key: string, entry: Entry): void {
  entries.delete(key)
  heldBytes -= entry.encoded.bytes.byteLength
}

/** Tests: what is held. */
export const encodedHeld = () => ({ entries: entries.size, bytes: heldBytes })

/** Tests: a smaller bound (emptying what is held), or the default again. */
export function boundEncoded(bytes = ENCODED_MAX_BYTES): void {
  for (const [key, entry] of entries) forget(key, entry)
  maxBytes = bytes
}
