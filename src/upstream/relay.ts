/**
 * Turns an upstream answer into the gateway's answer.
 *
 * Successes reach the caller unchanged in shape (a `private_key`, which the upstream never
 * returns, is removed all the same). Failures keep the upstream's own error codes; only the
 * status is adjusted where relaying it would mislead: the upstream refusing the gateway's token
 * (401/403) and upstream 5xx both become 502, because neither is the caller's doing. A 404 is
 * answered in the gateway's canonical not-found form (see below).
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { GatewayError, detail, type ErrorDetail } from '../lib/errors'
import type { UpstreamEnvelope } from '../lib/envelope'
import type { UpstreamAnswer } from './client'

// JSON.parse makes `"__proto__"` an own property; it is dropped too, so that nothing under it is
// relayed (a zod parse, which this replaced, never copied it).
const needsStripping = (result: unknown): result is Record<string, unknown> =>
  result !== null &&
  typeof result === 'object' &&
  ('private_key' in result || Object.hasOwn(result, '__proto__'))

function stripSecrets(result: unknown): unknown {
  if (Array.isArray(result)) {
    // Copied only when there is something to remove: a list is otherwise relayed as parsed.
    return result.some(needsStripping) ? result.map(stripSecrets) : result
  }
  if (needsStripping(result)) {
    const rest: Record<string, unknown> = {}
    for (const key of Object.keys(result)) {
      if (key !== 'private_key' && key !== '__proto__') rest[key] = result[key]
    }
    return rest
  }
  return result
}

/** Cloudflare's code for "Certificate not found" (upstream-contract.md). */
const UPSTREAM_NOT_FOUND = 1472

/** Why a 404 was answered: the codes the upstream itself gave (1472: no such certificate). */
export class UpstreamNotFound {
  constructor(readonly codes: readonly number[]) {}
}

/**
 * Whether this refusal is the upstream saying the certificate does not exist (404 with 1472), as
 * opposed to the gateway's own "not found" or a 404 for anything else (a wrong base URL answers
 * 404 with other codes, and must never make the ledger forget what it owns).
 */
export const upstreamSaysGone = (error: unknown): boolean =>
  error instanceof GatewayError &&
  error.cause instanceof UpstreamNotFound &&
  error.cause.codes.includes(UPSTREAM_NOT_FOUND)

export function relay(answer: UpstreamAnswer): UpstreamEnvelope {
  const { status, envelope } = answer
  if (status >= 200 && status < 300 && envelope.success) {
    return { ...envelope, result: stripSecrets(envelope.result) }
  }
  const upstreamErrors: ErrorDetail[] = envelope.errors.map(
    ({ code, message, documentation_url, source }) => ({
      code,
      message,
      ...(documentation_url !== undefined ? { documentation_url } : {}),
      ...(source !== undefined ? { source } : {}),
    }),
  )
  if (status >= 200 && status < 300) {
    throw new GatewayError(502, [
      detail('UPSTREAM_BAD_RESPONSE', 'The upstream answered 2xx with success: false'),
      ...upstreamErrors,
    ])
  }
  if (status === 401 || status === 403) {
    throw new GatewayError(502, [detail('UPSTREAM_CREDENTIALS_REJECTED'), ...upstreamErrors])
  }
  if (status === 404) {
    // Every 404 of these endpoints is "no such certificate". It is answered in one canonical form,
    // the same one the gateway gives for a certificate the caller may not see: the two must not be
    // told apart by a different message or field. The upstream's own codes stay in the cause,
    // never in the answer, for the ledger (upstreamSaysGone).
    throw GatewayError.of('CERTIFICATE_NOT_FOUND', {
      cause: new UpstreamNotFound(upstreamErrors.map((e) => e.code)),
    })
  }
  if (status >= 500) {
    throw new GatewayError(502, [
      detail('UPSTREAM_FAILED', `The upstream failed with HTTP ${status}`),
      ...upstreamErrors,
    ])
  }
  const errors =
    upstreamErrors.length > 0
      ? upstreamErrors
      : [detail('UPSTREAM_FAILED', `The upstream refused the request with HTTP ${status}`)]
  const headers: Record<string, string> =
    answer.retryAfter !== undefined ? { 'retry-after': answer.retryAfter } : {}
  throw new GatewayError(status as ContentfulStatusCode, errors, { headers })
}
