/**
 * The back half of the pipe for the five endpoints, in one place and one direction:
 * note what is being done → record it if it changes anything → forward it → shape the answer. Handlers only say which operation.
 */
import type { Context } from 'hono'
import { recordBeforeForward } from '../audit/middleware'
import type { AppEnv } from '../lib/app-env'
import type { UpstreamEnvelope } from '../lib/envelope'
import type { Action } from '../lib/request-facts'
import { callUpstream } from '../upstream/client'
import { relay } from '../upstream/relay'
import type { UpstreamRequest } from '../upstream/request'

const CERTIFICATE_ID =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/

export interface Operation {
  action: Action
  accountId: string
  certificateId?: string
  upstream: UpstreamRequest
}

export async function execute(c: Context<AppEnv>, operation: Operation): Promise<UpstreamEnvelope> {
  const facts = c.var.facts
  facts.action = operation.action
  facts.accountId = operation.accountId
  if (operation.certificateId !== undefined) facts.certificateId = operation.certificateId

  // A change is on the audit record before it is forwarded, or it is not forwarded at all.
  if (operation.upstream.method !== 'GET') await recordBeforeForward(c)
  const { apiToken, upstream } = c.var.config
  const answer = await callUpstream(operation.upstream, { apiToken, ...upstream }, (attempts) => {
    facts.upstreamAttempts = attempts
  })
  const envelope = relay(answer)
  // An upload's certificate id exists only once the upstream has created it.
  const created = (envelope.result as { id?: unknown } | null)?.id
  if (typeof created === 'string' && CERTIFICATE_ID.test(created)) facts.certificateId ??= created
  return envelope
}
