/**
 * Issue 22: ending a pending approval without a delete (withdrawn, rejected, gone), on the audit
 * record first. Only a pending approval ends: the store's one atomic step.
 */
import type { ApprovalDeps, Findings } from '../kernel/operation'
import { GatewayError } from '../lib/errors'
import type { Approval, Ending } from './store'

/** Ends a pending approval, on record first; refuses one that is no longer pending. */
export async function end(
  deps: ApprovalDeps,
  found: Findings,
  approval: Approval,
  ending: Ending,
): Promise<Approval> {
  await deps.audit.beforeChange(found)
  const done = await deps.approvals.end(approval.id, ending, new Date())
  if (done.ended && done.approval !== null) return done.approval
  const now = done.approval ?? approval
  if (now.status === 'expired') throw GatewayError.of('APPROVAL_EXPIRED')
  throw GatewayError.of('APPROVAL_CLOSED', {
    message: `This approval is no longer pending: it is ${now.status}`,
    headers: { 'x-should-retry': 'false' },
  })
}

/**
 * Closes a pending approval whose certificate the upstream says is gone, and answers plainly.
 * Used by the review and by an approve that met the same (approve.ts).
 */
export async function closeAsGone(
  deps: ApprovalDeps,
  found: Findings,
  approval: Approval,
): Promise<GatewayError> {
  try {
    await end(deps, found, approval, { status: 'gone', by: 'gateway' })
  } catch (error) {
    console.error(`closing approval ${approval.id} as gone failed`, error)
  }
  return GatewayError.of('APPROVAL_CERTIFICATE_GONE', { headers: { 'x-should-retry': 'false' } })
}
