/**
 * Everything that goes to the upstream goes through `callUpstream`: it adds the stored token,
 * applies a timeout, retries what is safe to retry, and accepts only real API envelopes back,
 * scrubbed of anything that looks like a credential (scrub.ts).
 *
 * Retry rules: reads (GET) are retried on 429, 5xx and network errors, with exponential backoff
 * plus jitter, honouring `retry-after` when it is short enough to wait for; a `retry-after` beyond
 * MAX_RETRY_AFTER_MS ends the retries and the 429 is relayed. Uploads and deletes are never retried:
 * the gateway cannot know whether a failed attempt took effect. A timeout is never retried either,
 * so a caller waits at most one timeout per request.
 *
 * Every attempt is admitted first (`observer.admit`: the token budget and the breaker, see
 * budget-gate.ts), so a refused attempt never reaches the upstream; an upstream 429 is reported
 * (`observer.rateLimited`) before anything else happens, so that every isolate holds off. Every
 * answer's rate-limit headers, whatever its status, are handed to `observer.heard` (a value noted
 * in the isolate: rate-headers.ts, budget-gate.ts), at no cost on the response's path.
 */
import { GatewayError } from '../lib/errors'
import { upstreamEnvelopeSchema, type UpstreamEnvelope } from '../lib/envelope'
import type { UpstreamWord } from '../coordinator/leases'
import { rateLimitWord } from './rate-headers'
import type { UpstreamRequest } from './request'
import { scrubEnvelope } from './scrub'

export const MAX_RETRY_AFTER_MS = 5_000
const MAX_BACKOFF_MS = 4_000

export interface UpstreamSettings {
  baseUrl: string
  apiToken: string
  timeoutMs: number
  maxAttempts: number
  retryBaseMs: number
}

export interface UpstreamAnswer {
  status: number
  envelope: UpstreamEnvelope
  retryAfter?: string
}

type Attempt =
  | { kind: 'answer'; response: Response; text: string }
  | { kind: 'network'; error: unknown }
  | { kind: 'timeout' }

async function attempt(url: string, init: RequestInit, timeoutMs: number): Promise<Attempt> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  try {
    const response = await fetch(url, { ...init, signal: controller.signal })
    // The body is read under the same timeout: a stalled or dropped body is a failed attempt.
    const text = await response.text()
    return { kind: 'answer', response, text }
  } catch (error) {
    return controller.signal.aborted ? { kind: 'timeout' } : { kind: 'network', error }
  } finally {
    clearTimeout(timer)
  }
}

function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

function backoffMs(retry: number, base: number): number {
  const exponential = Math.min(MAX_BACKOFF_MS, base * 2 ** (retry - 1))
  return exponential + Math.random() * exponential * 0.25
}

const isRetryableStatus = (status: number) => status === 429 || status >= 500

export interface AttemptObserver {
  /** Before each HTTP call; throws to refuse it (the budget is spent, the breaker is open). */
  admit(): Promise<void>
  /** The running count of HTTP calls, including ones that end in an exception. */
  attempted(attempts: number): void
  /** The upstream answered 429, with this retry-after (ms) if it gave one. */
  rateLimited(retryAfterMs: number | undefined): Promise<void>
  /** What an answer's headers said of the token's rate limit. */
  heard?(word: UpstreamWord): void
}

export async function callUpstream(
  request: UpstreamRequest,
  settings: UpstreamSettings,
  observer: AttemptObserver,
): Promise<UpstreamAnswer> {
  const url = settings.baseUrl + request.path + (request.query ? `?${request.query}` : '')
  const headers: Record<string, string> = {
    authorization: `Bearer ${settings.apiToken}`,
    accept: 'application/json',
    'user-agent': 'mtls-gateway',
  }
  if (request.body !== undefined) headers['content-type'] = 'application/json'
  const init: RequestInit = {
    method: request.method,
    headers,
    ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
  }
  const maxAttempts = request.method === 'GET' ? settings.maxAttempts : 1

  for (let attempts = 1; ; attempts++) {
    await observer.admit()
    observer.attempted(attempts)
    const sentMs = Date.now()
    const result = await attempt(url, init, settings.timeoutMs)
    const last = attempts >= maxAttempts
    if (result.kind === 'timeout') throw GatewayError.of('UPSTREAM_TIMEOUT')
    if (result.kind === 'network') {
      if (last) throw GatewayError.of('UPSTREAM_UNREACHABLE', { cause: result.error })
      await sleep(backoffMs(attempts, settings.retryBaseMs))
      continue
    }

    const { response, text } = result
    const word = rateLimitWord(response.headers, sentMs, Date.now())
    if (word !== null) observer.heard?.(word)
    const wait = retryAfterMs(response.headers.get('retry-after'), Date.now())
    if (response.status === 429) await observer.rateLimited(wait)
    if (!last && isRetryableStatus(response.status)) {
      if (wait === undefined || wait <= MAX_RETRY_AFTER_MS) {
        await sleep(wait ?? backoffMs(attempts, settings.retryBaseMs))
        continue
      }
    }
    return toAnswer(response, text, settings.apiToken)
  }
}

function toAnswer(response: Response, text: string, apiToken: string): UpstreamAnswer {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const envelope = upstreamEnvelopeSchema.safeParse(json)
  if (!envelope.success) {
    throw GatewayError.of(response.status >= 500 ? 'UPSTREAM_FAILED' : 'UPSTREAM_BAD_RESPONSE', {
      message: `The upstream answered HTTP ${response.status} with a body that is not a Cloudflare API envelope`,
    })
  }
  const retryAfter = response.headers.get('retry-after') ?? undefined
  // Scrubbed here, where the answer enters: nothing after (relay, audit, logs) sees the raw words.
  return {
    status: response.status,
    envelope: scrubEnvelope(envelope.data, apiToken),
    ...(retryAfter ? { retryAfter } : {}),
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
