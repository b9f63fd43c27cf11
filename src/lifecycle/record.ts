/**
 * Puts a certificate's life on the audit chain (issue 23): each notice sent or given up, each
 * escalation, each acknowledgement and each drift is an entry of its own kind (audit/entry.ts
 * `LIFECYCLE_KINDS`), numbered and linked in its account's chain by the coordinator and signed
 * like every entry, so a team can show it was warned and an auditor can see what happened
 * outside the gateway. Entries carry facts only: never a channel's URL or secret.
 */
import { headOf } from '../audit/chain'
import type { AuditEntry, LifecycleFacts, LifecycleKind } from '../audit/entry'
import { eventKeyOf, writeEntry, type StoreSettings } from '../audit/store'
import type { AuditChains } from '../coordinator/client'
import { auditChainOf } from '../coordinator/shard'
import { uuidv7 } from '../lib/uuidv7'

export interface LifecycleEvent {
  kind: LifecycleKind
  accountId: string
  team?: string
  /** The member who acted (an acknowledgement), or the system principal for the jobs. */
  member: string
  via: string
  action: string
  /** The job run's or the request's id. */
  requestId: string
  lifecycle: LifecycleFacts
}

export type LifecycleRecorder = (event: LifecycleEvent) => Promise<AuditEntry>

/** Writes each event as a chained, signed entry; rejects if it cannot be written. */
export function lifecycleRecorder(
  kv: KVNamespace,
  settings: StoreSettings,
  chains: AuditChains,
  now: () => number = Date.now,
): LifecycleRecorder {
  return async (event) => {
    const id = uuidv7()
    const unchained: AuditEntry = JSON.parse(
      JSON.stringify({
        time: new Date(now()).toISOString(),
        id,
        kind: event.kind,
        request_id: event.requestId,
        member: event.member,
        team: event.team,
        via: event.via,
        action: event.action,
        account_id: event.accountId,
        certificate_id: event.lifecycle.certificate_id,
        outcome: { class: 'allowed', error_codes: [] },
        upstream_attempts: 0,
        lifecycle: event.lifecycle,
      }),
    ) as AuditEntry
    const position = await chains.append(
      auditChainOf(event.accountId),
      eventKeyOf(unchained),
      headOf(unchained),
    )
    const entry = { ...unchained, ...position }
    await writeEntry(kv, entry, settings)
    return entry
  }
}
