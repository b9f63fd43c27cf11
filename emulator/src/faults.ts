/**
 * Owns: injected upstream failures. Tests queue faults through `POST /__emulator/faults`; each API
 * request consumes the first queued fault whose `match` fits it (one use of `times`), and the fault
 * decides the answer:
 *
 * - `latency`: wait `ms`, then answer normally (auth, rate limit and handlers all run).
 * - `status`: answer `status` (default 500) in the error envelope (`code`/`message` overridable).
 * - `rate_limit`: answer 429, code 971, with `retry-after: retry_after` (default 1).
 * - `non_json`: answer `status` (default 200) with an HTML body and `content-type: text/html`.
 * - `null_result`: answer 200 with a success envelope whose `result` is null: well-formed, but not
 *   the list or object the endpoint promises (clients must not read it as "nothing").
 * - `drop`: send the status (default 200) and headers, then a body stream that errors after a
 *   partial JSON chunk: the caller's `fetch()` resolves but reading the body fails.
 * - `reset`: throw out of the Worker, so no response exists: the caller's `fetch()` rejects.
 * - `slow_body`: answer normally (auth, rate limit and handlers all run, so an upload is stored),
 *   with the status and headers at once and the body's first bytes, then the rest of the body only
 *   after `ms` (default 10 000): a caller whose timeout covers reading the body gives up while the
 *   change has already happened upstream.
 *
 * Faulted requests are recorded in the request log (they reached the upstream) but are not counted
 * by the rate limiter and skip authentication: a failing upstream fails before it checks anything.
 */

import type { MiddlewareHandler } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

import type { AppEnv } from './app-env'
import { ConnectionReset, errorBody } from './envelope'
import { apiErrors } from './errors'

export const FAULT_KINDS = [
  'latency',
  'status',
  'rate_limit',
  'non_json',
  'null_result',
  'drop',
  'reset',
  'slow_body',
] as const

export type Fault = {
  kind: (typeof FAULT_KINDS)[number]
  match?: { method?: string | undefined; path_contains?: string | undefined } | undefined
  /** Remaining uses. */
  times: number
  ms?: number | undefined
  status?: number | undefined
  retry_after?: number | undefined
  code?: number | undefined
  message?: string | undefined
}

const queue: Fault[] = []

export function addFaults(faults: Fault[]): void {
  queue.push(...faults.map((f) => ({ ...f })))
}

export function listFaults(): Fault[] {
  return queue.map((f) => ({ ...f }))
}

export function clearFaults(): void {
  queue.length = 0
}

function matches(fault: Fault, method: string, path: string): boolean {
  const { match } = fault
  if (match?.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) {
    return false
  }
  return match?.path_contains === undefined || path.includes(match.path_contains)
}

/** Removes one use of the first matching fault and returns it. */
export function takeFault(method: string, path: string): Fault | undefined {
  const index = queue.findIndex((f) => matches(f, method, path))
  const fault = queue[index]
  if (!fault) return undefined
  fault.times -= 1
  if (fault.times <= 0) queue.splice(index, 1)
  return { ...fault }
}

const HTML_BODY =
  '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>' +
  '<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>\n'

function droppedBody(): ReadableStream<Uint8Array> {
  const partial = new TextEncoder().encode('{"success":true,"errors":[],"messages":[],"result":{')
  let sent = false
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true
        controller.enqueue(partial)
        return
      }
      controller.error(new Error('emulated connection drop'))
    },
  })
}

/** How much of a slow body is sent at once; the rest waits. */
const SLOW_BODY_HEAD_BYTES = 16
export const DEFAULT_SLOW_BODY_MS = 10_000

function slowBody(body: Uint8Array, ms: number): ReadableStream<Uint8Array> {
  let step = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      step += 1
      if (step === 1) {
        controller.enqueue(body.slice(0, SLOW_BODY_HEAD_BYTES))
        return
      }
      await new Promise((resolve) => {
        timer = setTimeout(resolve, ms)
      })
      controller.enqueue(body.slice(SLOW_BODY_HEAD_BYTES))
      controller.close()
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer)
    },
  })
}

export const injectFaults: MiddlewareHandler<AppEnv> = async function injectFaults(c, next) {
  const fault = takeFault(c.req.method, new URL(c.req.url).pathname)
  if (!fault) return next()
  switch (fault.kind) {
    case 'latency':
      await new Promise((resolve) => setTimeout(resolve, fault.ms ?? 0))
      return next()
    case 'status': {
      const status = (fault.status ?? 500) as ContentfulStatusCode
      const error = { code: fault.code ?? 10001, message: fault.message ?? 'Internal server error' }
      return c.json(errorBody([error]), status)
    }
    case 'rate_limit':
      throw apiErrors.rateLimited({ 'retry-after': String(fault.retry_after ?? 1) })
    case 'non_json':
      return c.html(HTML_BODY, (fault.status ?? 200) as ContentfulStatusCode)
    case 'null_result':
      return c.json({ success: true, errors: [], messages: [], result: null }, 200)
    case 'drop':
      return new Response(droppedBody(), {
        status: fault.status ?? 200,
        headers: { 'content-type': 'application/json' },
      })
    case 'reset':
      throw new ConnectionReset()
    case 'slow_body': {
      await next()
      const answer = c.res
      const body = new Uint8Array(await answer.arrayBuffer())
      const headers = new Headers(answer.headers)
      headers.delete('content-length')
      c.res = undefined
      c.res = new Response(slowBody(body, fault.ms ?? DEFAULT_SLOW_BODY_MS), {
        status: answer.status,
        headers,
      })
      return
    }
  }
}
