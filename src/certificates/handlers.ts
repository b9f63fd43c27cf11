/**
 * The five endpoints' handlers: thin. Each takes its validated input, builds the upstream request
 * (`upstream/request.ts`), calls the upstream (`upstream/client.ts`) and relays the answer
 * (`upstream/relay.ts`). Nothing here reads a raw header, body or query string.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../lib/app-env'
import { callUpstream } from '../upstream/client'
import { relay } from '../upstream/relay'
import { upstreamRequests, type UpstreamRequest } from '../upstream/request'
import { createRouter } from '../lib/create-app'
import { applyListFilter } from './list-filter'
import { associationsRoute, deleteRoute, getRoute, listRoute, uploadRoute } from './routes'

async function forward(c: Context<AppEnv>, request: UpstreamRequest) {
  const { apiToken, upstream } = c.var.config
  return relay(await callUpstream(request, { apiToken, ...upstream }))
}

export const certificatesRouter = createRouter()
  .openapi(listRoute, async (c) => {
    const { account_id } = c.req.valid('param')
    const { type, ca, name } = c.req.valid('query')
    const envelope = await forward(c, upstreamRequests.list(account_id, type))
    return c.json(applyListFilter(envelope, { ca, name }) as never, 200)
  })
  .openapi(uploadRoute, async (c) => {
    const { account_id } = c.req.valid('param')
    const { fields } = c.req.valid('json')
    return c.json((await forward(c, upstreamRequests.upload(account_id, fields))) as never, 200)
  })
  .openapi(getRoute, async (c) => {
    const { account_id, mtls_certificate_id } = c.req.valid('param')
    return c.json(
      (await forward(c, upstreamRequests.get(account_id, mtls_certificate_id))) as never,
      200,
    )
  })
  .openapi(deleteRoute, async (c) => {
    const { account_id, mtls_certificate_id } = c.req.valid('param')
    return c.json(
      (await forward(c, upstreamRequests.delete(account_id, mtls_certificate_id))) as never,
      200,
    )
  })
  .openapi(associationsRoute, async (c) => {
    const { account_id, mtls_certificate_id } = c.req.valid('param')
    return c.json(
      (await forward(c, upstreamRequests.associations(account_id, mtls_certificate_id))) as never,
      200,
    )
  })
