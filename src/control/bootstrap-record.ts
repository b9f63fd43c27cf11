/**
 * The bootstrap on the audit chain (issue 20): when the first revision is stored from the POLICY
 * secret (managed mode, control/served-policy.ts), one chained, signed entry says so: action
 * `policy`, by the gateway's system principal (member and team `_gateway`, `via: system`: no key
 * or identity can act as it), with a `policy_change` whose verdict and kind are `bootstrap`, before
 * `none` and after the revision's id, and the entry's `policy_revision` that id too.
 *
 * Exactly once: the coordinator stores the first revision in one synchronous step and tells only
 * the call that stored it (`bootstrapped`); only that request calls this. What it cannot promise:
 * if that request dies between the coordinator's answer and this write, no entry is written (the
 * history's `bootstrap` row still records it, `GET /gateway/v1/policy`). Writes facts only: never
 * the document, a key or a hash of one.
 */
import { headOf } from '../audit/chain'
import type { AuditEntry } from '../audit/entry'
import { eventKeyOf, writeEntry, type StoreSettings } from '../audit/store'
import type { AuditChains } from '../coordinator/client'
import { auditChainOf } from '../coordinator/shard'
import { GatewayError } from '../lib/errors'
import { uuidv7 } from '../lib/uuidv7'
import type { Revision } from './revision'

/** What `policy_change.before` says when there was no revision before. */
export const NO_REVISION = 'none'

export async function recordBootstrap(
  deps: { kv: KVNamespace; settings: StoreSettings; chains: AuditChains },
  revision: Revision,
  requestId: string,
): Promise<AuditEntry> {
  const unchained: AuditEntry = {
    time: revision.created_at,
    id: uuidv7(),
    kind: 'request',
    request_id: requestId,
    member: '_gateway',
    team: '_gateway',
    via: 'system',
    action: 'policy',
    outcome: { class: 'allowed', error_codes: [] },
    upstream_attempts: 0,
    policy_revision: revision.id,
    policy_change: {
      proposal: 'bootstrap',
      kind: 'bootstrap',
      verdict: 'bootstrap',
      before: NO_REVISION,
      after: revision.id,
      summary: 'the POLICY secret stored as the first revision',
    },
  }
  try {
    const position = await deps.chains.append(
      auditChainOf(undefined),
      eventKeyOf(unchained),
      headOf(unchained),
    )
    const entry = { ...unchained, ...position }
    await writeEntry(deps.kv, entry, deps.settings)
    return entry
  } catch (error) {
    console.error('the policy bootstrap could not be put on the audit chain:', String(error))
    throw GatewayError.of('AUDIT_UNAVAILABLE', { cause: error })
  }
}
