/**
 * Where undeliverable notices wait (issue 23): `dead` rows of each account's coordinator, listed
 * for the platform and put back in the queue by it once the channel is fixed.
 *
 * Both are the platform's, not a team's: a dead notice says a channel (configured by operators in
 * LIFECYCLE_CHANNELS) is broken. Listing is decided as reading the audit log (`audit`, account-wide
 * only: an `owner: "any"` grant); re-queueing, a change to what the gateway sends, as the other way
 * out an operator has (`breaker`, account-wide only). A re-queue is on record before it is made
 * (fail closed), and the coordinator's alarm sends it at once where LIFECYCLE_CHANNELS is set.
 * Neither shows a channel's URL or secret: only its id.
 */
import { run, type AuditPort, type Outcome } from '../kernel/operation'
import type { RequestScope } from '../kernel/scope'
import { GatewayError } from '../lib/errors'
import { accountsOf } from '../policy/document'

/** Decided as if about a certificate of some other team: an `owner: "any"` grant only. */
const EVERY_TEAM = { ownerTeam: '(every team)' }

export interface ListedNotice {
  account_id: string
  id: string
  certificate_id: string
  horizon: string
  channel: string
  kind: string
  team: string
  state: 'pending' | 'delivered' | 'dead'
  attempts: number
  last_reason: string | null
  created_at: string
  settled_at: string | null
}

type Deps = Pick<RequestScope, 'who' | 'policy' | 'lifecycle'> & { audit: AuditPort }

const iso = (ms: number) => new Date(ms).toISOString()

export function listNotices(
  deps: Deps,
  input: { state: 'pending' | 'delivered' | 'dead' },
): Promise<Outcome<ListedNotice[]>> {
  return run({}, async (found) => {
    deps.who.requireAllowed(found, 'audit', EVERY_TEAM)
    const listed: ListedNotice[] = []
    for (const accountId of accountsOf(deps.policy)) {
      const { notices } = await deps.lifecycle.notices.list(accountId)
      for (const n of notices) {
        if (n.state !== input.state) continue
        listed.push({
          account_id: accountId,
          id: n.id,
          certificate_id: n.certificate_id,
          horizon: n.horizon,
          channel: n.channel,
          kind: n.kind,
          team: n.team,
          state: n.state,
          attempts: n.attempts,
          last_reason: n.last_reason,
          created_at: iso(n.created_at),
          settled_at: n.settled_at === null ? null : iso(n.settled_at),
        })
      }
    }
    return listed
  })
}

export function requeueNotice(
  deps: Deps,
  input: { accountId: string; noticeId: string },
  nowMs: number = Date.now(),
): Promise<Outcome<{ id: string; state: 'pending' }>> {
  return run({ accountId: input.accountId }, async (found) => {
    deps.who.requireAccount(input.accountId, GatewayError.of('ACCOUNT_NOT_FOUND'))
    deps.who.requireAllowed(found, 'breaker', EVERY_TEAM)
    const { notices } = await deps.lifecycle.notices.list(input.accountId)
    const notice = notices.find((n) => n.id === input.noticeId && n.state === 'dead')
    if (notice === undefined) throw GatewayError.of('DEAD_NOTICE_NOT_FOUND')
    found.certificateId = notice.certificate_id
    await deps.audit.beforeChange(found)
    if (!(await deps.lifecycle.notices.requeue(input.accountId, input.noticeId, nowMs))) {
      throw GatewayError.of('DEAD_NOTICE_NOT_FOUND')
    }
    return { id: input.noticeId, state: 'pending' }
  })
}
