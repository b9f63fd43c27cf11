/**
 * Assembles the gateway: the stages every request passes (request id, audit trail, 404/405,
 * configuration, the one error renderer), authentication and the request scope for the API
 * prefixes, and each feature's routes. Tests build the same app.
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { HTTPException } from 'hono/http-exception'
import { methodNotAllowed } from 'hono/method-not-allowed'
import { requestId } from 'hono/request-id'
import type { AppEnv } from './app-env'
import { approvalsRouter } from './approvals/handlers'
import { auditRouter } from './audit/handlers'
import { budgetRouter } from './budget/handlers'
import { auditTrail } from './audit/middleware'
import { certificatesRouter } from './certificates/handlers'
import { configFor } from './config'
import {
  consoleHeaders,
  consoleIdentity,
  consolePages,
  consolePublic,
  consoleUnrecorded,
} from './console'
import type { ApiDocument } from './console/reference-page'
import { renderConsoleError } from './console/render'
import { identityRouter } from './identity/handlers'
import { authenticate, memberRate } from './identity/middleware'
import { failureEnvelope } from './lib/envelope'
import { GatewayError, detail } from './lib/errors'
import { API_DOCUMENT, registerErrorExamples } from './lib/openapi'
import { createRouter } from './lib/router'
import { uuidv7 } from './lib/uuidv7'
import { lifecycleRouter } from './lifecycle/handlers' // issue 23
import { calendarFeedDoor } from './lifecycle/middleware' // issue 23
import { ownershipRouter } from './ownership/handlers'
import { requestScope } from './pipe'
import { policyRouter } from './policy/handlers'
// Issue 20: the current policy revision.
import { servedPolicy } from './control/middleware'
import { controlRouter } from './control/handlers'
import { membersRouter } from './members/handlers' // issue 20, slice 4

/** Renders any error as the upstream envelope. Only 5xx are logged; no stack ever reaches a caller. */
export function renderError(error: Error, c: Context<AppEnv>) {
  let failure: GatewayError
  if (error instanceof GatewayError) {
    failure = error
  } else if (error instanceof HTTPException && error.status < 500) {
    // Hono's own 4xx (for example from a validator): keep the status, use our envelope.
    failure = new GatewayError(error.status as 400, [
      detail('INVALID_BODY', error.message || undefined),
    ])
  } else {
    failure = GatewayError.of('INTERNAL', { cause: error })
  }
  if (failure.status >= 500) {
    console.error(
      `request ${c.var.requestId ?? '-'} failed: ${failure.message}`,
      failure.cause ?? '',
    )
    // The official SDK retries 5xx by itself; the gateway already retried what was safe to retry.
    c.header('x-should-retry', 'false')
  }
  for (const [name, value] of Object.entries(failure.headers)) c.header(name, value)
  if (failure.status === 401) c.header('www-authenticate', 'Bearer realm="mtls-gateway"')
  c.set('failure', failure) // the audit trail records the codes the caller was answered
  return c.json({ ...failureEnvelope(failure.errors), ...failure.body }, failure.status)
}

/** Every request needs a usable configuration; without one the gateway answers 503 to all. */
const loadConfig = () =>
  createMiddleware<AppEnv>(async function loadConfig(c, next) {
    c.set('config', configFor(c.env))
    await next()
  })

export function createApp() {
  const app = createRouter<AppEnv>()
  // The console's stylesheet, icon and empty sign-in form, before the audit trail: they carry no
  // identity and change nothing (console/unrecorded.tsx says why they are not recorded).
  app.route('/', consoleUnrecorded)
  // Request ids are always minted here: a caller-chosen id could collide in the audit trail.
  app.use(requestId({ headerName: '', generator: () => uuidv7() }))
  app.use(async function startRequest(c, next) {
    c.set('startedAt', Date.now())
    c.header('x-request-id', c.var.requestId)
    await next()
  })
  // Outermost after the request id, so that every answer (errors, 404s, 405s included) is recorded.
  app.use(auditTrail())
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        renderError(
          GatewayError.of('METHOD_NOT_ALLOWED', { headers: { allow: methods.join(', ') } }),
          c,
        ),
    }),
  )
  app.use(loadConfig())
  // Issue 20: the request is served under the coordinator's current policy revision.
  app.use(servedPolicy())
  app.notFound((c) => renderError(GatewayError.of('NO_ROUTE'), c))
  app.onError(renderError)
  return app
}

export function buildGateway() {
  const app = createApp()
  app.openAPIRegistry.registerComponent('securitySchemes', 'gatewayKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'A gateway key (mtlsgw_ followed by 43 base64url characters), never a Cloudflare token',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'accessAssertion', {
    type: 'apiKey',
    in: 'header',
    name: 'Cf-Access-Jwt-Assertion',
    description:
      'The Cloudflare Access token Access adds, when ACCESS_TEAM_DOMAIN and ACCESS_AUD are set',
  })
  registerErrorExamples(app.openAPIRegistry)
  // The API authenticates by the Authorization header (or the Access assertion) alone: the
  // console's session cookie is read on /console/* only, and never reaches these.
  // Every authenticated request is metered (identity/member-rate.ts), unknown routes included.
  // Issue 23: a team's expiry calendar, whose secret URL is its credential (calendar apps send none).
  app.use('/calendar/*', calendarFeedDoor())
  for (const prefix of ['/client/v4/*', '/gateway/*']) {
    app.use(prefix, authenticate(), memberRate(), requestScope())
  }
  let apiDocument: ApiDocument | undefined
  app.route(
    '/',
    consolePublic(() => (apiDocument ??= app.getOpenAPI31Document(API_DOCUMENT) as ApiDocument)),
  )
  // Headers first, so that the sign-in form a refused visit gets carries them too.
  app.use(
    '/console/*',
    consoleHeaders(),
    consoleIdentity(),
    memberRate(renderConsoleError),
    requestScope(),
  )
  app.route('/', consolePages)
  app.route('/', certificatesRouter)
  app.route('/', identityRouter)
  app.route('/', policyRouter)
  app.route('/', approvalsRouter)
  app.route('/', ownershipRouter)
  app.route('/', auditRouter)
  app.route('/', budgetRouter)
  app.route('/', lifecycleRouter) // issue 23
  app.route('/', controlRouter) // issue 20: policy revisions and proposals
  app.route('/', membersRouter) // issue 20, slice 4: members and keys
  app.doc31('/openapi.json', API_DOCUMENT)
  return app
}
