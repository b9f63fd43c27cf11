/**
 * The five endpoints' handlers: thin. Each takes its validated input, runs its operation
 * (`operations.ts`) on the request scope, settles the outcome and renders it; nothing here reads
 * a raw header, body or query string, and nothing here decides.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import type { Served } from '../audit/record'
import { respondJson } from '../lib/encoded-json'
import { successEnvelope } from '../lib/envelope'
import { GatewayError, detail } from '../lib/errors'
import { createRouter } from '../lib/router'
import { settle } from '../pipe'
import { encodedList } from '../snapshot/encoded'
import {
  deleteCertificate,
  getCertificate,
  listAssociations,
  listCertificates,
  uploadCertificate,
} from './operations'
import { associationsRoute, deleteRoute, getRoute, listRoute, uploadRoute } from './routes'

/** `Prefer: respond-async` (RFC 7240), among other preferences, in any case. */
function prefersAsync(prefer: string | undefined): boolean {
  return (prefer ?? '')
    .split(',')
    .some((preference) => preference.split(';')[0]!.trim().toLowerCase() === 'respond-async')
}

/** Issue 21: `Cache-Control: no-cache` (RFC 9111) asks for the upstream's own answer. */
function asksNoCache(cacheControl: string | undefined): boolean {
  return (cacheControl ?? '')
    .split(',')
    .some((directive) => directive.split('=')[0]!.trim().toLowerCase() === 'no-cache')
}

/** Issue 21: how a read was served, in HTTP's terms: `Age` and RFC 9211 `Cache-Status`. */
function servedHeaders(c: Context<AppEnv>, served: Served | undefined): void {
  if (served === undefined) return
  c.header('cache-status', served.cacheStatus)
  c.header('age', String(served.ageSeconds ?? 0))
}

export const certificatesRouter = createRouter<AppEnv>()
  .openapi(listRoute, async (c) => {
    const { account_id: accountId } = c.req.valid('param')
    const { type: types, ca, name } = c.req.valid('query')
    const noCache = asksNoCache(c.req.header('cache-control'))
    const input = { accountId, types, filter: { ca, name }, noCache }
    const outcome = await listCertificates(c.var.scope, input)
    servedHeaders(c, outcome.findings.served)
    const envelope = settle(c, outcome)
    // Issue 21: a list served from the snapshot is encoded once per isolate (snapshot/encoded.ts).
    if (outcome.findings.served?.via === 'snapshot') {
      return respondJson(c, encodedList(accountId, envelope), 200)
    }
    return c.json(envelope, 200)
  })
  .openapi(uploadRoute, async (c) => {
    const { account_id: accountId } = c.req.valid('param')
    const { fields, certificate: inspected } = c.req.valid('json')
    const input = { accountId, fields, inspected }
    return c.json(settle(c, await uploadCertificate(c.var.scope, input)), 200)
  })
  .openapi(getRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const noCache = asksNoCache(c.req.header('cache-control'))
    const outcome = await getCertificate(c.var.scope, { accountId, certificateId, noCache })
    servedHeaders(c, outcome.findings.served)
    return c.json(settle(c, outcome), 200)
  })
  .openapi(deleteRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const reason = c.req.valid('header')['x-approval-reason']?.trim()
    const input = { accountId, certificateId, reason }
    const done = settle(c, await deleteCertificate(c.var.scope, input))
    if (done.kind === 'deleted') return c.json(done.envelope, 200)

    // Not deleted yet. To a Cloudflare client that is an error (403, 18309): the SDK raises it and
    // wrangler exits non-zero, printing the message that says who must approve, how, and until
    // when. A client that understands approvals asks for the accepted form (RFC 7240).
    const { approval, message } = done.parked
    c.header('x-should-retry', 'false')
    if (!prefersAsync(c.req.header('prefer'))) {
      throw GatewayError.of('APPROVAL_REQUIRED', {
        message: `Not deleted: ${message}`,
        headers: { 'x-should-retry': 'false' },
        body: { approval },
      })
    }
    c.header('preference-applied', 'respond-async')
    const messages = [detail('APPROVAL_PENDING', `Not deleted yet: ${message}`)]
    return c.json({ ...successEnvelope(null, { messages }), approval }, 202)
  })
  .openapi(associationsRoute, async (c) => {
    const { account_id: accountId, mtls_certificate_id: certificateId } = c.req.valid('param')
    const outcome = await listAssociations(c.var.scope, { accountId, certificateId })
    servedHeaders(c, outcome.findings.served)
    return c.json(settle(c, outcome), 200)
  })
