/** The Worker's entry point. */
import { buildGateway } from './app'
import { asJsonRequest } from './lib/json-body'

const app = buildGateway()

export default {
  // JSON sent as text/plain (wrangler's uploads) is relabelled before anything reads it.
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    return app.fetch(asJsonRequest(request), env, ctx)
  },
} satisfies ExportedHandler<Env>
