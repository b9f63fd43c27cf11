/**
 * What the upstream says of the token's rate limit, read from the headers of every answer it
 * gives (success, refusal or 429), so that the coordinator can believe it (coordinator/budget.ts)
 * rather than the policy's arithmetic alone: the token's limit is per *user*, and whatever else
 * that user runs (Terraform, CI with other tokens, the dashboard) spends the same requests.
 *
 * Two forms are in use, and Cloudflare's documentation gives both:
 *   - `x-ratelimit-limit`, `x-ratelimit-remaining` and, when sent, `x-ratelimit-reset` (seconds
 *     from now, a Unix time in seconds, or an HTTP date): the form of Cloudflare's stored limits
 *     page and of the emulator by default (also read without the `x-`, as early IETF drafts
 *     named them);
 *   - draft-ietf-httpapi-ratelimit-headers, as Cloudflare's current limits page gives it:
 *     `RateLimit-Policy: "default";q=1200;w=300` (quota q per window of w seconds) and
 *     `RateLimit: "default";r=1180;t=240` (r left, for t more seconds). Each is a structured
 *     field list (RFC 8941) that may name several policies; the one with the least left binds.
 *     A `RateLimit` item whose name no policy carries (the page's own example names "default" in
 *     one and "burst" in the other) takes the smallest quota given: the cautious reading.
 * A header that does not parse is no word at all, never a guess: the budget then keeps to the
 * policy, as it did before it read any header.
 */
import type { UpstreamWord } from '../coordinator/leases'

/** Beyond any real limit: a bigger number is a fault, and is read as no word. */
const MAX_COUNT = 1_000_000_000
/** A reset further away than this (a day) is a fault too. */
const MAX_RESET_MS = 86_400_000

interface Item {
  name: string
  params: Map<string, string>
}

/** Splits on `separator` outside double quotes (RFC 8941 strings hold commas and semicolons). */
function splitOutsideQuotes(value: string, separator: string): string[] {
  const parts: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!
    if (char === '\\' && quoted) {
      current += char + (value[i + 1] ?? '')
      i++
      continue
    }
    if (char === '"') quoted = !quoted
    if (char === separator && !quoted) {
      parts.push(current)
      current = ''
      continue
    }
    current += char
  }
  parts.push(current)
  return parts
}

const unquote = (text: string) => {
  const trimmed = text.trim()
  return trimmed.startsWith('"') && trimmed.endsWith('"') && trimmed.length >= 2
    ? trimmed.slice(1, -1).replace(/\\(.)/g, '$1')
    : trimmed
}

/** A structured field list of items with parameters, as far as these two headers use it. */
function itemsOf(value: string): Item[] {
  return splitOutsideQuotes(value, ',').flatMap((member) => {
    const [name, ...params] = splitOutsideQuotes(member, ';')
    if (name === undefined || name.trim() === '') return []
    const map = new Map<string, string>()
    for (const param of params) {
      const at = param.indexOf('=')
      if (at < 0) continue
      map.set(param.slice(0, at).trim().toLowerCase(), unquote(param.slice(at + 1)))
    }
    return [{ name: unquote(name), params: map }]
  })
}

/** A count as the headers carry it: a whole number, 0 to MAX_COUNT; anything else is no count. */
function countOf(text: string | null | undefined): number | null {
  if (text === null || text === undefined || !/^\s*\d{1,10}\s*$/.test(text)) return null
  const n = Number(text)
  return n <= MAX_COUNT ? n : null
}

/** `x-ratelimit-reset`: seconds from now, a Unix time in seconds, or an HTTP date. */
function resetOf(text: string | null, heardMs: number): number | null {
  if (text === null) return null
  if (/^\s*\d{1,12}\s*$/.test(text)) {
    const seconds = Number(text)
    // A count as large as a Unix time (after 2001) is one; a smaller one is seconds from now.
    return seconds >= 1_000_000_000 ? seconds * 1000 : heardMs + seconds * 1000
  }
  const date = Date.parse(text)
  return Number.isNaN(date) ? null : date
}

function ietfWord(headers: Headers, sentMs: number, heardMs: number): UpstreamWord | null {
  const limits = headers.get('ratelimit')
  if (limits === null) return null
  const quotas = new Map<string, number>()
  for (const item of itemsOf(headers.get('ratelimit-policy') ?? '')) {
    const q = countOf(item.params.get('q'))
    if (q !== null) quotas.set(item.name, Math.min(q, quotas.get(item.name) ?? Infinity))
  }
  let binding: { remaining: number; resetMs: number | null; limit: number | null } | null = null
  for (const item of itemsOf(limits)) {
    const remaining = countOf(item.params.get('r'))
    if (remaining === null) continue
    const t = countOf(item.params.get('t'))
    const quota = quotas.get(item.name) ?? (quotas.size > 0 ? Math.min(...quotas.values()) : null)
    if (binding === null || remaining < binding.remaining) {
      binding = { remaining, resetMs: t === null ? null : heardMs + t * 1000, limit: quota }
    }
  }
  return binding === null ? null : { ...binding, sentMs, heardMs }
}

function countsWord(headers: Headers, sentMs: number, heardMs: number): UpstreamWord | null {
  for (const prefix of ['x-ratelimit-', 'ratelimit-']) {
    const remaining = countOf(headers.get(`${prefix}remaining`))
    if (remaining === null) continue
    return {
      remaining,
      limit: countOf(headers.get(`${prefix}limit`)),
      resetMs: resetOf(headers.get(`${prefix}reset`), heardMs),
      sentMs,
      heardMs,
    }
  }
  return null
}

/**
 * The upstream's word in one answer's headers, or null when it gave none that parses.
 * `sentMs`: when the request was sent (calls granted since are not counted in `remaining`);
 * `heardMs`: when its answer arrived.
 */
export function rateLimitWord(
  headers: Headers,
  sentMs: number,
  heardMs: number,
): UpstreamWord | null {
  const word = ietfWord(headers, sentMs, heardMs) ?? countsWord(headers, sentMs, heardMs)
  if (word === null) return null
  const resetMs =
    word.resetMs !== null && word.resetMs - heardMs <= MAX_RESET_MS ? word.resetMs : null
  return { ...word, resetMs }
}
