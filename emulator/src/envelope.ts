/**
 * Owns: the upstream's wire format: the `{success, errors, messages, result, result_info?}`
 * envelope, the headers every answer carries (`content-type: application/json`, a `cf-ray`), and
 * the single place where a thrown error becomes a response.
 *
 * Never sends a stack trace; an unexpected error is a 500 in the same envelope (code 10001,
 * chosen).
 */

import type { Context, ErrorHandler, MiddlewareHandler } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

import type { AppEnv } from './app-env'
import { ApiError, type ErrorItem } from './errors'

export type ResultInfo = {
  count: number
  page: number
  per_page: number
  total_count: number
  total_pages: number
}

export function success(c: Context<AppEnv>, result: unknown, resultInfo?: ResultInfo) {
  const body = { success: true, errors: [], messages: [], result }
  return c.json(resultInfo ? { ...body, result_info: resultInfo } : body, 200)
}

export function errorBody(errors: ErrorItem[]) {
  return { success: false, errors, messages: [], result: null }
}

/** `cf-ray` as Cloudflare sends it: 16 hex digits, a dash, a data-centre code. */
export function rayId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return `${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}-LHR`
}

/** Adds the headers every upstream answer has, whatever produced it (handler, error, fault). */
export const upstreamHeaders: MiddlewareHandler<AppEnv> = async function upstreamHeaders(c, next) {
  await next()
  c.res.headers.set('cf-ray', rayId())
}

/** Thrown to make the caller's `fetch()` itself fail; `renderError` lets it escape on purpose. */
export class ConnectionReset extends Error {
  constructor() {
    super('emulated connection reset')
    this.name = 'ConnectionReset'
  }
}

export const renderError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ConnectionReset) throw err
  if (err instanceof ApiError) {
    return c.json(errorBody(err.errors), err.status, err.headers)
  }
  console.error('emulator: unexpected error', err)
  const status: ContentfulStatusCode = 500
  return c.json(errorBody([{ code: 10001, message: 'Internal server error' }]), status)
}
