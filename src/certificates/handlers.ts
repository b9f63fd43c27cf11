/**
 * The five endpoints' handlers: thin. Each takes its validated input and runs its operation
 * (`operations.ts`); nothing here reads a raw header, body or query string.
 */
import { createRouter } from '../lib/create-app'
import { successEnvelope } from '../lib/envelope'
import { detail } from '../lib/errors'
import {
  deleteCertificate,
  getCertificate,
  listAssociations,
  listCertificates,
  uploadCertificate,
} from './operations'
import { associationsRoute, deleteRoute, getRoute, listRoute, uploadRoute } from './routes'

// Route response schemas document the shape; the relayed upstream envelope is not re-validated
// against them (wire compatibility means passing the upstream's shape through), hence the casts.
export const certificatesRouter = createRouter()
  .openapi(listRoute, async (c) => {
    const { account_id: accountId } = c.req.valid('param')
    const { type, ca, name } = c.req.valid('query')
    return c.json((await listCertificates(c, accountId, type, { ca, name })) as never, 200)
  })
  .openapi(uploadRoute, async (c) => {
    const { account_id: accountId } = c.req.valid('param')
    const { fields, certificate } = c.req.valid('json')
    const { fingerprintSha256, serialNumber } = certificate
    c.var.facts.certificate = {
      fingerprintSha256,
      serialNumber,
      ...(fields.name !== undefined ? { name: fields.name } : {}),
    }
    return c.json((await uploadCertificate(c, accountId, fields, certificate)) as never, 200)
  })
  .openapi(getRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    return c.json((await getCertificate(c, accountId, certificateId)) as never, 200)
  })
  .openapi(deleteRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const outcome = await deleteCertificate(c, accountId, certificateId)
    if (outcome.kind === 'deleted') return c.json(outcome.envelope as never, 200)

    // Not deleted yet: 202 with no result, so a client cannot mistake it for the deleted object,
    // and a message that says who must approve and how.
    const { approval } = outcome
    c.var.facts.approval = { id: approval.id, requestedBy: approval.requested_by }
    c.header('x-should-retry', 'false')
    const message =
      `Delete of ${approval.certificate_id} awaits approval ${approval.id} by a member with role ` +
      `${approval.roles.join(' or ')} (POST /gateway/v1/approvals/${approval.id}/approve) until ${approval.expires_at}`
    const body = {
      ...successEnvelope(null, { messages: [detail('APPROVAL_PENDING', message)] }),
      approval,
    }
    return c.json(body as never, 202)
  })
  .openapi(associationsRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    return c.json((await listAssociations(c, accountId, certificateId)) as never, 200)
  })
