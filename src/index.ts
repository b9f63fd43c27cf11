/** The Worker's entry point. */
import { buildGateway } from './app'
import { checkpointsJob } from './audit/checkpoints-cron'
import { asJsonRequest } from './lib/json-body'
import { EXPIRY_WATCH_CRON, deliverDueNotices, expiryWatchJob } from './lifecycle/expiry-cron' // issue 23
import { onNoticeAlarm } from './coordinator/notice-alarm' // issue 23: retries on the alarm

// The coordinator Durable Object's class must be exported by the Worker that binds it.
export { Coordinator } from './coordinator'

const app = buildGateway()

// Issue 23: the account coordinators' alarms deliver due notices through the Worker's sender.
onNoticeAlarm(deliverDueNotices)

export default {
  // JSON sent as text/plain (wrangler's uploads) is relabelled before anything reads it.
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    return app.fetch(asJsonRequest(request), env, ctx)
  },
  // Hourly (wrangler.toml [triggers]): each audit chain's head, signed, for auditors to keep.
  scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext) {
    // Issue 23: every five minutes, the expiry watch (notices due, retries).
    if (controller.cron === EXPIRY_WATCH_CRON) {
      ctx.waitUntil(expiryWatchJob(env, new Date(controller.scheduledTime)))
      return
    }
    ctx.waitUntil(checkpointsJob(env, new Date(controller.scheduledTime)))
  },
} satisfies ExportedHandler<Env>
