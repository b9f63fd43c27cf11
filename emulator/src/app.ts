/**
 * Owns: assembling the emulator. Requests under `/__emulator` go to the control API; everything
 * else, on any host, is the emulated upstream, where every request passes, in order:
 *
 *   upstream headers (cf-ray) -> request log -> fault injection -> route
 *   route = 404/7003 unknown, 405/7001 wrong method, or authenticate -> rate limit -> handler
 *
 * `/cdn-cgi/access/certs` (a Cloudflare Access team's signing keys) is served beside both.
 *
 * Kept as a plain dispatcher so control calls can never be logged, faulted or rate limited.
 */

import { Hono } from 'hono'

import { ACCESS_CERTS_PATH, serveAccessJwks } from './access-jwks'
import type { AppEnv } from './app-env'
import { auditLogRoutes } from './audit-log-routes'
import { certificateRoutes } from './certificate-routes'
import { controlRoutes } from './control-routes'
import { renderError, upstreamHeaders } from './envelope'
import { apiErrors } from './errors'
import { injectFaults } from './faults'
import { RECEIVER_PREFIX, receive } from './receiver'
import { recordRequest } from './request-log'

export function createUpstreamApp() {
  const app = new Hono<AppEnv>()
  app.use('*', upstreamHeaders, recordRequest, injectFaults)
  app.route('/client/v4/accounts/:account_id/mtls_certificates', certificateRoutes())
  app.route('/client/v4/accounts/:account_id/logs/audit', auditLogRoutes())
  app.notFound(() => {
    throw apiErrors.noRoute()
  })
  app.onError(renderError)
  return app
}

export function createEmulator() {
  const control = controlRoutes()
  const upstream = createUpstreamApp()
  return {
    fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
      const { pathname } = new URL(request.url)
      // Cloudflare Access's signing keys (access-jwks.ts): not the mTLS API, so never logged.
      if (pathname === ACCESS_CERTS_PATH) return serveAccessJwks(request)
      // The teams' webhook receivers (receiver.ts, issue 23): not the mTLS API, so never logged.
      if (pathname.startsWith(RECEIVER_PREFIX) && request.method === 'POST') return receive(request)
      const isControl = pathname === '/__emulator' || pathname.startsWith('/__emulator/')
      return (isControl ? control : upstream).fetch(request, env, ctx)
    },
  } satisfies ExportedHandler<Env>
}
