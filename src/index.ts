/** The Worker's entry point. */
import { buildGateway } from './app'
import { checkpointsJob } from './audit/checkpoints-cron'
import { asJsonRequest } from './lib/json-body'

// The coordinator Durable Object's class must be exported by the Worker that binds it.
export { Coordinator } from './coordinator'

const app = buildGateway()

export default {
  // JSON sent as text/plain (wrangler's uploads) is relabelled before anything reads it.
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    return app.fetch(asJsonRequest(request), env, ctx)
  },
  // Hourly (wrangler.toml [triggers]): each audit chain's head, signed, for auditors to keep.
  scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext) {
    ctx.waitUntil(checkpointsJob(env, new Date(controller.scheduledTime)))
  },
} satisfies ExportedHandler<Env>
