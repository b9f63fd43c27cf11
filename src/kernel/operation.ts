/**
 * The operation kernel: what every operation is made of, in one place. An operation takes plain
 * inputs (the request scope, or the part of it it declares: `OwnershipDeps`, `ApprovalDeps`) and
 * the validated request, and returns an `Outcome`: the value, or the refusal, plus the `Findings`
 * the audit needs. `run` builds one. Operations never see Hono's `Context`, so a request handler,
 * a console page and a scheduled job (scope.ts `scopeFor`) call them alike, and the unit tests run
 * them on in-memory fakes.
 *
 * `Findings`, `Action` and `AuditPort` are the audit's vocabulary (audit/record.ts, a floor below:
 * the audit's stores build entries from them); they are re-exported here so that an operation
 * imports its kernel from one module.
 */
import type { ApprovalStore } from '../approvals/store'
import type { AuditPort, Findings } from '../audit/record'
import type { Principal } from '../identity/principal'
import type { Ledger } from '../ownership/ledger'
import type { Policy } from '../policy/document'
import type { Authorizer } from '../policy/enforce'
import type { Upstream } from '../upstream/port'
import type { SnapshotPort } from '../snapshot/port'

export type { Action, AuditPort, Findings } from '../audit/record'

export type Outcome<T> =
  { ok: true; value: T; findings: Findings } | { ok: false; error: unknown; findings: Findings }

/**
 * Runs an operation's body with its findings, starting from what the request names. Whatever the
 * body throws becomes a refusal that keeps the findings gathered until then: a denied delete is
 * recorded with the decision that denied it.
 */
export async function run<T>(
  start: Findings,
  body: (found: Findings) => Promise<T>,
): Promise<Outcome<T>> {
  const findings: Findings = { ...start }
  try {
    return { ok: true, value: await body(findings), findings }
  } catch (error) {
    return { ok: false, error, findings }
  }
}

/** The plain inputs every ownership-aware operation runs on. */
export interface OwnershipDeps {
  principal: Principal
  requestId: string
  who: Authorizer
  ledger: Ledger
  upstream: Upstream
  audit: AuditPort
  /** How long an upload can take (the upstream timeout): bounds adoption (ownership/reconcile). */
  uploadWindowMs: number
  /** A team's quota of CA certificates per account (policy `quotas`), null for none. */
  caQuota(teamId: string): number | null
  /** Issue 21: the account snapshot reads are served from; absent when the policy turns it off. */
  snapshot?: SnapshotPort | undefined
}

/** What approval operations run on: the ownership deps plus the approvals and the policy. */
export interface ApprovalDeps extends OwnershipDeps {
  approvals: ApprovalStore
  /** The requester of an approval is checked against the policy as it is when it is approved. */
  policy: Policy
}
