/**
 * Retries that do not wait for the cron (issue 23): the account's coordinator keeps its Durable
 * Object alarm at the next notice due (a retry's backoff, or a lease that lapsed), and when it
 * rings asks the Worker's notice sender to deliver what is due. The coordinator only keeps state
 * and never holds the audit port, so the sender is the Worker's, registered once when the Worker's
 * module loads (src/index.ts): a function, never a pending promise or a binding. It is called with
 * the Durable Object's own `env`, and uses the same coordinator (notices, chain) over RPC as the
 * cron does.
 *
 * The alarm is armed only where LIFECYCLE_CHANNELS is set in that `env` (without it nothing could
 * be delivered, and the five-minute watch still settles each notice), and never sooner than
 * ALARM_FLOOR_MS after it rang, so a notice that stays due cannot make it ring in a loop.
 */

/** Delivers the account's due notices (lifecycle/expiry-cron.ts `deliverDueNotices`). */
export type NoticeSender = (env: Env, accountId: string, nowMs: number) => Promise<void>

let sender: NoticeSender | undefined

/** The Worker registers its sender (src/index.ts); tests may register their own. */
export function onNoticeAlarm(send: NoticeSender | undefined): void {
  sender = send
}

export function noticeSender(): NoticeSender | undefined {
  return sender
}

/** The soonest the alarm rings again after it rang. */
export const ALARM_FLOOR_MS = 5_000

/** Whether this Durable Object's env can deliver at all. */
export const canDeliver = (env: Pick<Env, 'LIFECYCLE_CHANNELS'>) =>
  typeof env.LIFECYCLE_CHANNELS === 'string' && env.LIFECYCLE_CHANNELS.trim() !== ''
