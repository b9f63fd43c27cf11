/**
 * Builds the scope (scope.ts) from plain inputs: the bindings, the configuration, who acts and the
 * id of what they do. The request pipe calls it once per authenticated request (pipe.ts
 * `requestScope`); a scheduled job or a coordinator-initiated task calls it the same way with
 * `SYSTEM_PRINCIPAL`, and gets the same ports: the authorizer, the ledger, the approvals, the
 * upstream port behind the budget gate, the audit port and the audit log.
 *
 * The system principal is member `_gateway` of team `_gateway`: neither can be a policy id (ids
 * start with a letter or a digit, lib/ids.ts `SLUG`), so no key, session or Access identity can
 * ever act as it, and it holds no role, so the policy allows it nothing it does not grant to
 * everyone. Its upstream calls are charged to the gateway's reserve: the budget plan gives the
 * `_gateway` team no share (policy/limits.ts shares only the policy's teams), and the caller is
 * reserve-eligible with no per-member limit, so a job draws only on what the reserve holds
 * (`budget.reserve.requests`, a tenth of the cap by default) and can never spend a team's share.
 * Its audit entries name it (`member: _gateway`, `via: system`).
 */
import { auditLogOf } from '../audit/audit-log'
import { pendingRecorder } from '../audit/recorder'
import type { RecordParts } from '../audit/record'
import type { Config } from '../config'
import {
  coordinatedApprovals,
  coordinatedBudget,
  coordinatedChains,
  coordinatedLedger,
  coordinatedTransfers,
  coordinatedRevisions,
  coordinatedMemberKeys, // issue 20, slice 4
} from '../coordinator/client'
import { tokenInstanceName } from '../coordinator/shard'
import type { Principal } from '../identity/principal'
import { accountsOf } from '../policy/document'
import { authorizer } from '../policy/enforce'
import type { Limits } from '../policy/limits'
import { budgetGate, leaseCacheFor, type BudgetCaller } from '../upstream/budget-gate'
import { upstreamPort } from '../upstream/port'
import type { RequestScope } from './scope'
import { coordinatedSnapshot, writingThrough, type SnapshotPort } from '../snapshot/port'
import type { SnapshotSettings } from '../snapshot/shapes'
import { coordinatedNotices } from '../coordinator/client' // issue 23
import { lifecycleRecorder } from '../lifecycle/record' // issue 23
import { driftOnRefresh } from '../lifecycle/drift-record' // issue 23: drift on refresh
import { auditLogRequest } from '../lifecycle/drift' // issue 23: drift on refresh

/** Who acts in a job the gateway starts itself (see the file comment). */
export const SYSTEM_PRINCIPAL: Principal = Object.freeze({
  memberId: '_gateway',
  teamId: '_gateway',
  roles: Object.freeze([]),
  via: 'system',
})

export interface ScopeInputs {
  env: Pick<Env, 'AUDIT' | 'COORDINATOR'>
  config: Config
  principal: Principal
  /** The request's id, or a job run's own (a fresh UUIDv7): its audit entries carry it. */
  requestId: string
  /**
   * What the record is known to be so far, read when a change is put on record. A request's is
   * read off its context (audit/middleware.ts `partsOf`); a job's defaults to its principal, its
   * id and the upstream calls it made.
   */
  parts?: () => RecordParts
}

function budgetCaller(principal: Principal, limits: Limits): BudgetCaller {
  if (principal === SYSTEM_PRINCIPAL) {
    return {
      team: principal.teamId,
      member: principal.memberId,
      reserveEligible: true,
      memberLimit: null,
    }
  }
  return {
    team: principal.teamId,
    member: principal.memberId,
    reserveEligible: principal.roles.some((role) => limits.reserveRoles.has(role)),
    memberLimit: limits.team(principal.teamId).memberLimit,
  }
}

export function scopeFor(inputs: ScopeInputs): RequestScope {
  const { env, config, principal, requestId } = inputs
  const { limits } = config
  const accounts = accountsOf(config.policy)
  const caller = budgetCaller(principal, limits)
  const tokenBudget = coordinatedBudget(env.COORDINATOR, tokenInstanceName(config.apiToken))
  const gate = budgetGate(tokenBudget, limits.plan, caller, leaseCacheFor(config))
  const upstream = upstreamPort({ apiToken: config.apiToken, ...config.upstream }, gate)
  const chains = coordinatedChains(env.COORDINATOR, config.audit.retentionDays)
  // Issue 21: the account snapshot, refreshed as the gateway itself (the reserve), when it is on.
  const snapshot = snapshotOf(inputs, tokenBudget)
  // Issue 23 (lifecycle): each refresh compared with the snapshot before it (drift-record.ts).
  if (snapshot !== undefined) {
    snapshot.refreshed = driftOnRefresh({
      notices: coordinatedNotices(env.COORDINATOR),
      settings: config.policy.lifecycle,
      record: lifecycleRecorder(env.AUDIT, config.audit, chains),
      requestId,
      auditLog: async (accountId, sinceMs, beforeMs) =>
        (await snapshot.refresher.call(auditLogRequest(accountId, sinceMs, beforeMs))).result,
    })
  }
  const ledger = coordinatedLedger(env.COORDINATOR)
  const startedAt = Date.now()
  const parts =
    inputs.parts ??
    (() => ({
      requestId,
      startedAt,
      principal,
      upstream: upstream.stats,
      policyRevision: config.policyRevision, // issue 20
    }))
  return {
    principal,
    requestId,
    policy: config.policy,
    who: authorizer(principal, config.policy),
    ledger: snapshot === undefined ? ledger : writingThrough(ledger, env.COORDINATOR),
    snapshot,
    approvals: coordinatedApprovals(env.COORDINATOR, accounts),
    transfers: coordinatedTransfers(env.COORDINATOR, accounts),
    upstream,
    upstreamStats: upstream.stats,
    audit: pendingRecorder(env.AUDIT, config.audit, chains, parts),
    auditLog: auditLogOf(env.AUDIT, chains, { audit: config.audit, accounts }),
    uploadWindowMs: config.upstream.timeoutMs,
    caQuota: (teamId) => limits.caQuota(teamId),
    budget: { caller, limits, tokenBudget },
    // Issue 23
    lifecycle: {
      notices: coordinatedNotices(env.COORDINATOR),
      record: lifecycleRecorder(env.AUDIT, config.audit, chains),
    },
    revisions: coordinatedRevisions(env.COORDINATOR), // issue 20
    memberKeys: coordinatedMemberKeys(env.COORDINATOR), // issue 20, slice 4
  }
}

/**
 * What the snapshot's refresher needs that no request changes: its settings and the system
 * principal's budget caller, worked out once per configuration (so once per isolate and policy
 * revision; null: the policy turns the snapshot off). Values only. The refresher's upstream port
 * and the port itself stay per request: the upstream port counts one request's calls and holds its
 * admission started ahead (a promise no other request may await), and a request sets the port's
 * `refreshed` hook with its own request id.
 */
interface SnapshotBasis {
  settings: SnapshotSettings
  system: BudgetCaller
}
const snapshotBases = new WeakMap<Config, SnapshotBasis | null>()

function snapshotBasisOf(config: Config): SnapshotBasis | null {
  const known = snapshotBases.get(config)
  if (known !== undefined) return known
  const { max_age_seconds, max_stale_seconds } = config.policy.snapshot
  const basis =
    max_age_seconds === 0
      ? null
      : {
          settings: {
            maxAgeMs: max_age_seconds * 1000,
            maxStaleMs: Math.max(max_stale_seconds, max_age_seconds) * 1000,
            // A refresh holds its claim for one upstream timeout and a little: a reader that died.
            claimMs: config.upstream.timeoutMs + 2_000,
          },
          system: budgetCaller(SYSTEM_PRINCIPAL, config.limits),
        }
  snapshotBases.set(config, basis)
  return basis
}

/** Issue 21: the snapshot's port, or undefined when the policy turns it off (max age 0). */
function snapshotOf(
  { env, config }: ScopeInputs,
  tokenBudget: ReturnType<typeof coordinatedBudget>,
): SnapshotPort | undefined {
  const basis = snapshotBasisOf(config)
  if (basis === null) return undefined
  const gate = budgetGate(tokenBudget, config.limits.plan, basis.system, leaseCacheFor(config))
  const refresher = upstreamPort({ apiToken: config.apiToken, ...config.upstream }, gate)
  return coordinatedSnapshot(env.COORDINATOR, basis.settings, refresher)
}
