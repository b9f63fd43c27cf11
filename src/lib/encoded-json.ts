/**
 * A JSON answer encoded once and sent many times (issue 21: the list of 1,000 from the snapshot).
 *
 * Hono's `c.json` runs `JSON.stringify` and the runtime encodes the text to UTF-8 on every
 * request: for a 1.6 MB list that is most of the gateway's CPU. `encodeJson` does that work once
 * and keeps the value's type beside the bytes, so that `respondJson` can answer them with the
 * route's typed response: the bytes are exactly what `c.json(value)` would have sent.
 */
import type { Context, TypedResponse } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { JSONParsed } from 'hono/utils/types'

/** The UTF-8 bytes of `JSON.stringify(value)` for a value of type T. */
export interface EncodedJson<T> {
  readonly bytes: Uint8Array<ArrayBuffer>
  /** Type only: what the bytes encode (never set). */
  readonly encodes?: T
}

const encoder = new TextEncoder()

export function encodeJson<T>(value: T): EncodedJson<T> {
  // TextEncoder's bytes are never in a SharedArrayBuffer (the lib's type allows one).
  return { bytes: encoder.encode(JSON.stringify(value)) as Uint8Array<ArrayBuffer> }
}

/**
 * Answers encoded JSON as `c.json(value, status)` would: the same headers (those set on the
 * context, `content-type: application/json`) and the same bytes. The cast: Hono's typed
 * response is a phantom type over `Response`, and `EncodedJson<T>` can only be made from a T.
 */
export function respondJson<T, U extends ContentfulStatusCode>(
  c: Context,
  encoded: EncodedJson<T>,
  status: U,
): Response & TypedResponse<JSONParsed<T>, U, 'json'> {
  const response = c.body(encoded.bytes, status, { 'content-type': 'application/json' })
  return response as unknown as Response & TypedResponse<JSONParsed<T>, U, 'json'>
}
