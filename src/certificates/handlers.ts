/**
 * The five endpoints' handlers: thin. Each names its operation from its validated input and
 * hands it to `execute`; nothing here reads a raw header, body or query string.
 */
import { createRouter } from '../lib/create-app'
import { upstreamRequests } from '../upstream/request'
import { execute } from './execute'
import { applyListFilter } from './list-filter'
import { associationsRoute, deleteRoute, getRoute, listRoute, uploadRoute } from './routes'

// Route response schemas document the shape; the relayed upstream envelope is not re-validated
// against them (wire compatibility means passing the upstream's shape through), hence the casts.
export const certificatesRouter = createRouter()
  .openapi(listRoute, async (c) => {
    const { account_id: accountId } = c.req.valid('param')
    const { type, ca, name } = c.req.valid('query')
    const upstream = upstreamRequests.list(accountId, type)
    const envelope = await execute(c, { action: 'list', accountId, upstream })
    return c.json(applyListFilter(envelope, { ca, name }) as never, 200)
  })
  .openapi(uploadRoute, async (c) => {
    const { account_id: accountId } = c.req.valid('param')
    const { fields, certificate } = c.req.valid('json')
    c.var.facts.certificate = {
      ...certificate,
      ...(fields.name !== undefined ? { name: fields.name } : {}),
    }
    const upstream = upstreamRequests.upload(accountId, fields)
    return c.json((await execute(c, { action: 'upload', accountId, upstream })) as never, 200)
  })
  .openapi(getRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const upstream = upstreamRequests.get(accountId, certificateId)
    return c.json(
      (await execute(c, { action: 'get', accountId, certificateId, upstream })) as never,
      200,
    )
  })
  .openapi(deleteRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const upstream = upstreamRequests.delete(accountId, certificateId)
    return c.json(
      (await execute(c, { action: 'delete', accountId, certificateId, upstream })) as never,
      200,
    )
  })
  .openapi(associationsRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const upstream = upstreamRequests.associations(accountId, certificateId)
    return c.json(
      (await execute(c, { action: 'associations', accountId, certificateId, upstream })) as never,
      200,
    )
  })
