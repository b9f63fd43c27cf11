/**
 * What the upstream says in words (its errors' and messages' texts, and any extra field of its
 * envelope) is relayed to the caller; an upstream, or a proxy in front of it, that echoed the
 * request's `Authorization` header would so hand the gateway's token to whoever caused the
 * error. So every string of an answer's envelope except its `result` (the certificates, whose
 * PEM must stay as it is) is scrubbed as it arrives (client.ts), before the relay, the audit or a
 * log sees it, of anything that looks like a credential:
 *   - the configured token itself, wherever it appears;
 *   - `Bearer <anything>` (an echoed header, with this token or another);
 *   - a gateway key (`mtlsgw_...`);
 *   - any run of 24 or more token characters (letters, digits, `-_+/=.`) mixing upper case,
 *     lower case and digits: the shape of Cloudflare's API tokens and of most keys. Ids stay:
 *     certificate ids and account ids are lowercase hex or UUIDs, so they are never scrubbed.
 * Each is replaced by `[redacted]`. Every pattern is linear in the text: no nested quantifiers.
 */

export const REDACTED = '[redacted]'

const BEARER = /\b(Bearer)\s+[^\s"',;]+/gi
const GATEWAY_KEY = /mtlsgw_[A-Za-z0-9_-]+/g
const LONG_TOKEN = /[A-Za-z0-9_\-+/=.]{24,}/g
const mixed = (run: string) => /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run)

/** `text` with every credential-looking part replaced by `[redacted]`. */
export function scrubText(text: string, token: string): string {
  let scrubbed = token.length > 0 ? text.replaceAll(token, REDACTED) : text
  scrubbed = scrubbed.replace(BEARER, (_, scheme: string) => `${scheme} ${REDACTED}`)
  scrubbed = scrubbed.replace(GATEWAY_KEY, REDACTED)
  return scrubbed.replace(LONG_TOKEN, (run) => (mixed(run) ? REDACTED : run))
}

function scrubValue(value: unknown, token: string): unknown {
  if (typeof value === 'string') return scrubText(value, token)
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, token))
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      if (key !== '__proto__') copy[key] = scrubValue(item, token)
    }
    return copy
  }
  return value
}

/** The envelope with every string outside `result` scrubbed; `result` is kept as it is. */
export function scrubEnvelope<T extends { result?: unknown }>(envelope: T, token: string): T {
  const scrubbed: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(envelope)) {
    if (key === '__proto__') continue
    scrubbed[key] = key === 'result' ? value : scrubValue(value, token)
  }
  return scrubbed as T
}
