/**
 * Owns: the test-only control API under `/__emulator/*` (table in README.md). Every call needs
 * `x-emulator-secret: <EMULATOR_CONTROL_SECRET>` (constant-time compare) or gets 403 and changes
 * nothing. Control calls bypass the request log, the rate limiter and fault injection, and answer
 * plain JSON (not the upstream envelope); a bad body is 400 `{error, issues}`.
 */

import { Hono, type MiddlewareHandler } from 'hono'
import { timingSafeEqual } from 'hono/utils/buffer'
import { z } from 'zod'

import { accessJwksBody, accessJwksState, resetAccessJwks, setAccessJwks } from './access-jwks'
import { recordChange, resetAuditLog, type Actor } from './account-audit-log'
import type { AppEnv } from './app-env'
import {
  addCertificate,
  certificateExists,
  getAssociations,
  getCertificate,
  removeCertificate,
  resetStore,
  setAssociations,
} from './certificate-store'
import { emulatorNow, resetClock, setClock } from './clock'
import { parseCertificates } from './certificate-pem'
import { addFaults, clearFaults, FAULT_KINDS, listFaults } from './faults'
import { getLimits, resetLimits, updateLimits } from './limits'
import {
  RATE_LIMIT_HEADER_FORMS,
  rateLimitHeaderForm,
  resetRateLimiter,
  setRateLimitHeaderForm,
} from './rate-limiter'
import { failNext, listDeliveries, resetReceiver } from './receiver'
import { clearRequests, listRequests } from './request-log'
import { resetStamps } from './timestamps'

const requireSecret: MiddlewareHandler<AppEnv> = async function requireControlSecret(c, next) {
  const given = c.req.header('x-emulator-secret')
  if (given === undefined || !(await timingSafeEqual(given, c.env.EMULATOR_CONTROL_SECRET))) {
    return c.json({ error: 'missing or wrong x-emulator-secret' }, 403)
  }
  await next()
}

const associationsBody = z.object({
  associations: z.array(z.object({ service: z.string(), status: z.string() })),
})

const seedBody = z.object({
  account_id: z.string().min(1),
  certificate: z.record(z.string(), z.unknown()),
})

// Issue 23: the clock, and changes made outside the gateway (another token, the dashboard).
const clockBody = z
  .object({ now: z.iso.datetime({ offset: true }).optional(), advance_ms: z.number().optional() })
  .refine((b) => b.now !== undefined || b.advance_ms !== undefined, 'now or advance_ms')

const actorBody = z.object({
  id: z.string().optional(),
  context: z.enum(['api_key', 'api_token', 'dash', 'oauth', 'origin_ca_key']),
  email: z.string().optional(),
  ip_address: z.string().optional(),
  token_id: z.string().optional(),
  token_name: z.string().optional(),
  type: z.enum(['account', 'cloudflare_admin', 'system', 'user']).default('user'),
})

const outsideUploadBody = seedBody.extend({ actor: actorBody })
const outsideDeleteBody = z.object({ account_id: z.string().min(1), actor: actorBody })

const receiverBody = z.object({
  fail: z.object({ status: z.number().int().min(400).max(599), times: z.number().int().min(0) }),
})

const positive = z.number().positive().optional()
const limitsBody = z.object({
  ca_certificates_per_account: z.number().int().nonnegative().optional(),
  requests_per_window: z.number().int().nonnegative().optional(),
  window_seconds: positive,
  block_seconds: positive,
})

const rateLimitHeadersBody = z.object({ form: z.enum(RATE_LIMIT_HEADER_FORMS) })

const faultsBody = z.object({
  faults: z.array(
    z.object({
      kind: z.enum(FAULT_KINDS),
      match: z
        .object({ method: z.string().optional(), path_contains: z.string().optional() })
        .optional(),
      times: z.number().int().positive().default(1),
      ms: z.number().nonnegative().optional(),
      status: z.number().int().min(200).max(599).optional(),
      retry_after: z.number().int().nonnegative().optional(),
      code: z.number().int().optional(),
      message: z.string().optional(),
    }),
  ),
})

class BadControlRequest extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super('invalid control request')
  }
}

async function readBody<T extends z.ZodType>(request: Request, schema: T): Promise<z.output<T>> {
  let json: unknown
  try {
    json = await request.json()
  } catch {
    throw new BadControlRequest([{ path: '', message: 'body must be JSON' }])
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    throw new BadControlRequest(
      parsed.error.issues.map((i) => ({ path: `/${i.path.join('/')}`, message: i.message })),
    )
  }
  return parsed.data
}

/** Seeds a record as given, plus an id; `updated_at` and `private_key` stay out of its fields. */
async function seedCertificate(accountId: string, given: Record<string, unknown>) {
  const { updated_at, private_key: _privateKey, ...rest } = given
  const id = typeof rest.id === 'string' && rest.id !== '' ? rest.id : crypto.randomUUID()
  const fingerprint =
    typeof rest.certificates === 'string'
      ? await parseCertificates(rest.certificates).then(
          (parsed) => parsed.fingerprint,
          () => null,
        )
      : null
  return addCertificate({
    accountId,
    fingerprint,
    updatedAt: typeof updated_at === 'string' ? updated_at : undefined,
    fields: { ...rest, id },
  })
}

export function controlRoutes() {
  const app = new Hono<AppEnv>().basePath('/__emulator')
  app.use('*', requireSecret)

  app.post('/reset', (c) => {
    resetStore()
    clearFaults()
    resetLimits()
    resetRateLimiter()
    clearRequests()
    resetAccessJwks()
    resetClock()
    resetStamps()
    resetAuditLog()
    resetReceiver()
    return c.json({ ok: true }, 200)
  })

  // Issue 23: the clock, and changes made outside the gateway, each in the account's audit log.
  app.get('/clock', (c) => c.json({ now: new Date(emulatorNow()).toISOString() }, 200))
  app.put('/clock', async (c) => {
    const { now, advance_ms } = await readBody(c.req.raw, clockBody)
    const at = setClock({
      ...(now !== undefined && { nowMs: Date.parse(now) }),
      ...(advance_ms !== undefined && { advanceMs: advance_ms }),
    })
    return c.json({ now: new Date(at).toISOString() }, 200)
  })

  app.get('/receiver', (c) => c.json({ deliveries: listDeliveries() }, 200))
  app.put('/receiver', async (c) => {
    const { fail } = await readBody(c.req.raw, receiverBody)
    failNext(fail.status, fail.times)
    return c.json({ deliveries: listDeliveries() }, 200)
  })

  app.post('/outside', async (c) => {
    const { account_id, certificate, actor } = await readBody(c.req.raw, outsideUploadBody)
    const record = await seedCertificate(account_id, certificate)
    const uri = `/client/v4/accounts/${account_id}/mtls_certificates`
    recordChange({
      accountId: account_id,
      type: 'create',
      certificateId: record.fields.id,
      actor: actor as Actor,
      method: 'POST',
      uri,
    })
    return c.json({ account_id, certificate: record.fields }, 200)
  })

  app.delete('/outside/:certificate_id', async (c) => {
    const id = c.req.param('certificate_id')
    const { account_id, actor } = await readBody(c.req.raw, outsideDeleteBody)
    const record = getCertificate(account_id, id)
    if (!record) return c.json({ error: `no certificate with id ${id}` }, 404)
    // The dashboard refuses too while a service uses it, as the API does.
    if (getAssociations(id).length > 0) return c.json({ error: 'certificate in use' }, 409)
    removeCertificate(account_id, id)
    recordChange({
      accountId: account_id,
      type: 'delete',
      certificateId: id,
      actor: actor as Actor,
      method: 'DELETE',
      uri: `/client/v4/accounts/${account_id}/mtls_certificates/${id}`,
    })
    return c.json({ account_id, certificate: record.fields }, 200)
  })

  app.get('/access/jwks', (c) => c.json(accessJwksState(), 200))
  app.put('/access/jwks', async (c) => {
    setAccessJwks(await readBody(c.req.raw, accessJwksBody))
    return c.json(accessJwksState(), 200)
  })

  app.put('/associations/:certificate_id', async (c) => {
    const id = c.req.param('certificate_id')
    const { associations } = await readBody(c.req.raw, associationsBody)
    if (!certificateExists(id)) return c.json({ error: `no certificate with id ${id}` }, 404)
    setAssociations(id, associations)
    return c.json({ certificate_id: id, associations: getAssociations(id) }, 200)
  })

  app.post('/certificates', async (c) => {
    const { account_id, certificate } = await readBody(c.req.raw, seedBody)
    const record = await seedCertificate(account_id, certificate)
    return c.json({ account_id, certificate: record.fields }, 200)
  })

  app.get('/limits', (c) => c.json({ limits: getLimits() }, 200))
  app.put('/limits', async (c) => {
    const changes = await readBody(c.req.raw, limitsBody)
    return c.json({ limits: updateLimits(changes) }, 200)
  })

  app.get('/rate-limit-headers', (c) => c.json({ form: rateLimitHeaderForm() }, 200))
  app.put('/rate-limit-headers', async (c) => {
    const { form } = await readBody(c.req.raw, rateLimitHeadersBody)
    setRateLimitHeaderForm(form)
    return c.json({ form: rateLimitHeaderForm() }, 200)
  })

  app.get('/faults', (c) => c.json({ faults: listFaults() }, 200))
  app.post('/faults', async (c) => {
    const { faults } = await readBody(c.req.raw, faultsBody)
    addFaults(faults)
    return c.json({ faults: listFaults() }, 200)
  })
  app.delete('/faults', (c) => {
    clearFaults()
    return c.json({ ok: true }, 200)
  })

  app.get('/requests', (c) => c.json({ requests: listRequests() }, 200))
  app.delete('/requests', (c) => {
    clearRequests()
    return c.json({ ok: true }, 200)
  })

  app.notFound((c) => c.json({ error: 'unknown control endpoint' }, 404))
  app.onError((err, c) => {
    if (err instanceof BadControlRequest)
      return c.json({ error: err.message, issues: err.issues }, 400)
    console.error('emulator control: unexpected error', err)
    return c.json({ error: 'internal error' }, 500)
  })
  return app
}
