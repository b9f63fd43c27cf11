/**
 * The teams' notice channels (issue 23): where a notice goes and how it is signed.
 *
 * The policy names channels by id only (policy/document.ts `lifecycle`); their URLs and secrets
 * are in the LIFECYCLE_CHANNELS secret, a JSON object `{ "<id>": { "kind": "webhook", "url",
 * "secret": "whsec_<base64>" } | { "kind": "slack", "url" } }`, so the 5 KB POLICY holds no URL
 * and no secret, and a team's channel can be rotated without touching the policy. A channel id the
 * secret does not define is reported by the watch and its notices wait (dead-lettered), never sent
 * elsewhere.
 *
 * Webhooks are signed as Standard Webhooks specifies: `webhook-id` (the notice's id, the same on
 * every retry, so the receiver can drop a duplicate), `webhook-timestamp` (seconds), and
 * `webhook-signature: v1,<base64 HMAC-SHA256 over "id.timestamp.body">` under the secret's bytes
 * (the base64 after `whsec_`). Slack gets an incoming-webhook payload (`text` plus blocks), which
 * Slack itself does not sign. Nothing here logs a URL or a secret.
 */
import { z } from '@hono/zod-openapi'

const channelSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    secret: z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ + base64'),
  }),
  z.strictObject({ kind: z.literal('slack'), url: z.url({ protocol: /^https?$/ }) }),
])
export type Channel = z.output<typeof channelSchema>
export type Channels = ReadonlyMap<string, Channel>

/** The channels of LIFECYCLE_CHANNELS, or the problem with it (never its content). */
export function parseChannels(text: string | undefined): { channels: Channels; problem?: string } {
  if (text === undefined || text.trim() === '') return { channels: new Map() }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { channels: new Map(), problem: 'LIFECYCLE_CHANNELS is not JSON' }
  }
  const parsed = z.record(z.string(), channelSchema).safeParse(json)
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => `/${i.path.join('/')}`)
    return { channels: new Map(), problem: `LIFECYCLE_CHANNELS: invalid at ${paths.join(', ')}` }
  }
  return { channels: new Map(Object.entries(parsed.data)) }
}

/** What a notice says, whatever the channel. */
export interface NoticeMessage {
  /** The notice's id: `webhook-id`, the same on every retry. */
  id: string
  type:
    'certificate.expiring' | 'certificate.expired' | 'certificate.escalation' | 'certificate.drift'
  team: string
  account_id: string
  certificate_id: string
  certificate_name?: string
  expires_on?: string
  /** `14d`, `expired`, or `drift`. */
  horizon: string
  days_left?: number
  text: string
}

const bytesOf = (text: string) => new TextEncoder().encode(text)

function base64(bytes: ArrayBuffer | Uint8Array): string {
  let binary = ''
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** `v1,<signature>` per Standard Webhooks, for `id.timestamp.body` under `whsec_<base64>`. */
export async function signWebhook(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const keyBytes = Uint8Array.from(atob(secret.slice('whsec_'.length)), (c) => c.charCodeAt(0))
  const key = await crypto.subtle.importKey(
    'raw',
    keyBytes,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const mac = await crypto.subtle.sign('HMAC', key, bytesOf(`${id}.${timestamp}.${body}`))
  return `v1,${base64(mac)}`
}

/** The request a channel is sent: signed JSON for a webhook, a Slack message for Slack. */
export async function requestFor(
  channel: Channel,
  message: NoticeMessage,
  nowMs: number,
): Promise<{ url: string; init: RequestInit }> {
  if (channel.kind === 'slack') {
    const body = JSON.stringify({
      text: message.text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: message.text } }],
    })
    return {
      url: channel.url,
      init: { method: 'POST', headers: { 'content-type': 'application/json' }, body },
    }
  }
  const { id, ...data } = message
  const body = JSON.stringify({
    type: message.type,
    timestamp: new Date(nowMs).toISOString(),
    data,
  })
  const timestamp = Math.floor(nowMs / 1000)
  return {
    url: channel.url,
    init: {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': await signWebhook(channel.secret, id, timestamp, body),
      },
      body,
    },
  }
}

/** How long one delivery may take before it counts as failed. */
const DELIVERY_TIMEOUT_MS = 5_000

/** One attempt: delivered on a 2xx; otherwise why not (a status or "unreachable"), no URL. */
export async function deliver(
  channel: Channel,
  message: NoticeMessage,
  nowMs: number,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const { url, init } = await requestFor(channel, message, nowMs)
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) })
    await response.body?.cancel()
    return response.ok ? { ok: true } : { ok: false, reason: `status ${response.status}` }
  } catch {
    return { ok: false, reason: 'unreachable' }
  }
}
