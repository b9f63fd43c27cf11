/**
 * The app and router factories. Every router is built here so that all of them share the one
 * validation hook, and the app wires the stages every request passes (request id, configuration,
 * 404/405, error rendering). Tests build the same app.
 */
import { OpenAPIHono } from '@hono/zod-openapi'
import { HTTPException } from 'hono/http-exception'
import { methodNotAllowed } from 'hono/method-not-allowed'
import { requestId } from 'hono/request-id'
import { auditTrail } from '../audit/middleware'
import type { AppEnv } from './app-env'
import { failureEnvelope } from './envelope'
import { GatewayError, detail } from './errors'
import { loadConfig } from './middleware'
import { newFacts } from './request-facts'
import { uuidv7 } from './uuidv7'
import { validationHook } from './validation-hook'

export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
}

/** Renders any error as the upstream envelope. Only 5xx are logged; no stack ever reaches a caller. */
export function renderError(
  error: Error,
  c: Parameters<Parameters<OpenAPIHono<AppEnv>['onError']>[0]>[1],
) {
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
  const facts = c.get('facts') as AppEnv['Variables']['facts'] | undefined
  if (facts) facts.outcome = { status: failure.status, codes: failure.errors.map((e) => e.code) }
  return c.json(failureEnvelope(failure.errors), failure.status)
}

export function createApp() {
  const app = createRouter()
  // Request ids are always minted here: a caller-chosen id could collide in the audit trail.
  app.use(requestId({ headerName: '', generator: () => uuidv7() }))
  app.use(async function startFacts(c, next) {
    c.set('facts', newFacts(c.var.requestId))
    c.header('x-request-id', c.var.requestId)
    await next()
  })
  // Outermost after the facts, so that every answer (errors, 404s, 405s included) is recorded.
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
  app.notFound((c) => renderError(GatewayError.of('NO_ROUTE'), c))
  app.onError(renderError)
  return app
}
