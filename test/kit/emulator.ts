/**
 * A client for the emulator's test-only control API (`/__emulator/*`, emulator/README.md), for
 * both Workers' tests: the gateway's reach the emulator through their EMULATOR service binding,
 * the emulator's own through `exports.default` or the bundled copy. Nothing here knows either
 * project's bindings; each passes its target and control secret.
 *
 * `send` answers the raw Response (for tests of the control API itself); the named calls throw
 * unless the emulator accepted them, so a set-up step that silently did nothing cannot pass.
 * The request log is how tests prove what did, and did not, reach the upstream.
 */
import type { Delivery } from '../../emulator/src/receiver'
import type { LoggedRequest } from '../../emulator/src/request-log'

export type { Delivery, LoggedRequest }

export interface FetchTarget {
  fetch(input: string, init?: RequestInit): Promise<Response>
}

export type Fault =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status?: number; code?: number; message?: string }
  | { kind: 'rate_limit'; retry_after?: number }
  | { kind: 'non_json'; status?: number }
  | { kind: 'null_result' }
  | { kind: 'drop'; status?: number }
  | { kind: 'reset' }
  | { kind: 'slow_body'; ms?: number }

export type QueuedFault = Fault & {
  times?: number
  match?: { method?: string; path_contains?: string }
}

export interface Association {
  service: string
  status: string
}

export function emulatorControl(target: FetchTarget, secret: string) {
  const send = (method: string, path: string, body?: unknown): Promise<Response> =>
    target.fetch(`https://emulator.test/__emulator${path}`, {
      method,
      headers: { 'x-emulator-secret': secret, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })

  async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await send(method, path, body)
    if (!response.ok)
      throw new Error(
        `emulator control ${method} ${path}: ${response.status} ${await response.text()}`,
      )
    return (await response.json()) as T
  }

  return {
    send,
    reset: () => control<{ ok: true }>('POST', '/reset'),
    setAssociations: (certificateId: string, associations: Association[]) =>
      control('PUT', `/associations/${certificateId}`, { associations }),
    seedCertificate: (accountId: string, certificate: Record<string, unknown>) =>
      control<{ account_id: string; certificate: Record<string, unknown> & { id: string } }>(
        'POST',
        '/certificates',
        { account_id: accountId, certificate },
      ),
    setLimits: (limits: Record<string, number>) => control('PUT', '/limits', limits),
    /** Which form the rate-limit headers take: `x-ratelimit-*` (default) or IETF `RateLimit`. */
    setRateLimitHeaders: (form: 'x-ratelimit' | 'ietf') =>
      control<{ form: string }>('PUT', '/rate-limit-headers', { form }),
    addFaults: (...faults: QueuedFault[]) =>
      control<{ faults: (QueuedFault & { times: number })[] }>('POST', '/faults', { faults }),
    /** The Cloudflare Access key set served at `/cdn-cgi/access/certs` (public JWKs only). */
    setAccessKeys: (keys: JsonWebKey[]) => control('PUT', '/access/jwks', { keys }),
    /** The Access key set and how many times it was fetched since the last reset. */
    accessKeys: () => control<{ keys: JsonWebKey[]; fetches: number }>('GET', '/access/jwks'),
    /** Empties the request log (set-up calls out of the way of what a test counts). */
    clearRequests: () => control<{ ok: true }>('DELETE', '/requests'),
    /** Every API request since the last reset, oldest first; control calls are not in it. */
    requests: async () =>
      (await control<{ requests: LoggedRequest[] }>('GET', '/requests')).requests,
    // Issue 23: the emulator's clock, and changes made outside the gateway with an actor.
    /** Sets the emulator's clock (`now`, ISO) or moves it (`advance_ms`); answers its "now". */
    setClock: (change: { now?: string; advance_ms?: number }) =>
      control<{ now: string }>('PUT', '/clock', change),
    /** An upload made by someone else (another token, the dashboard), in the account's audit log. */
    outsideUpload: (accountId: string, actor: OutsideActor, certificate: Record<string, unknown>) =>
      control<{ account_id: string; certificate: Record<string, unknown> & { id: string } }>(
        'POST',
        '/outside',
        { account_id: accountId, actor, certificate },
      ),
    /** What the webhook receivers (`/__receiver/<name>`) were sent, oldest first. */
    deliveries: async () =>
      (await control<{ deliveries: Delivery[] }>('GET', '/receiver')).deliveries,
    /** The receivers answer `status` to the next `times` deliveries. */
    failDeliveries: (status: number, times: number) =>
      control('PUT', '/receiver', { fail: { status, times } }),
    /** A delete made by someone else, in the account's audit log. */
    outsideDelete: (accountId: string, actor: OutsideActor, certificateId: string) =>
      control('DELETE', `/outside/${certificateId}`, { account_id: accountId, actor }),
  }
}

/** Who made an outside change (Audit Logs v2 `actor`). */
export interface OutsideActor {
  context: 'api_key' | 'api_token' | 'dash' | 'oauth' | 'origin_ca_key'
  type?: 'account' | 'cloudflare_admin' | 'system' | 'user'
  id?: string
  email?: string
  token_id?: string
  token_name?: string
}

export type EmulatorControl = ReturnType<typeof emulatorControl>
