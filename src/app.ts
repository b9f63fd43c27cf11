/** Assembles the gateway: the shared app, authentication for the API prefixes, and the routes. */
import { auditRouter } from './audit/handlers'
import { certificatesRouter } from './certificates/handlers'
import { gatewayRouter } from './gateway/handlers'
import { createApp } from './lib/create-app'
import { authenticate } from './lib/middleware'

export function buildGateway() {
  const app = createApp()
  app.use('/client/v4/*', authenticate())
  app.use('/gateway/*', authenticate())
  app.route('/', certificatesRouter)
  app.route('/', gatewayRouter)
  app.route('/', auditRouter)
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'mtls-gateway',
      version: '1',
      description:
        "Cloudflare's mTLS certificate API, scoped per team, behind one shared API token",
    },
  })
  return app
}
