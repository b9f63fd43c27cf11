/**
 * One upstream call on behalf of the request in hand: the stored token and upstream settings from
 * the configuration, the attempt count kept on the request's facts, the answer relayed.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../lib/app-env'
import type { UpstreamEnvelope } from '../lib/envelope'
import { GatewayError } from '../lib/errors'
import { callUpstream } from './client'
import { relay } from './relay'
import type { UpstreamRequest } from './request'

export async function forward(
  c: Context<AppEnv>,
  request: UpstreamRequest,
): Promise<UpstreamEnvelope> {
  const { apiToken, upstream } = c.var.config
  const before = c.var.facts.upstreamAttempts
  try {
    const answer = await callUpstream(request, { apiToken, ...upstream }, (attempts) => {
      c.var.facts.upstreamAttempts = before + attempts
    })
    return relay(answer)
  } catch (error) {
    // The upstream's own refusals (404, 1471, ...) are answers; failures are the upstream's fault.
    if (error instanceof GatewayError && (error.status >= 500 || error.status === 429)) {
      c.var.facts.upstreamFailed = true
    }
    throw error
  }
}
