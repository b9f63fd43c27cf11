/**
 * What the gateway has learnt about one request as it moves down the pipe: who, what, on which
 * certificate, what was decided, what came of it. Each stage adds what it knows; nothing reads a
 * raw request to find these out again. The audit trail is written from this record.
 */
import type { Principal } from '../identity/principal'
import type { Decision } from '../policy/decide'
import type { PolicyAction } from '../policy/rules'

export type Action = PolicyAction | 'whoami' | 'explain'

export interface RequestFacts {
  requestId: string
  startedAt: number
  principal?: Principal
  action?: Action
  accountId?: string
  certificateId?: string
  /** For uploads: what the gateway read from the PEM (never the PEM or a key). */
  certificate?: { name?: string; fingerprintSha256: string; serialNumber: string }
  /** The policy decision that let the request through or stopped it, shadow results included. */
  decision?: Decision
  /** For a two-person delete: the approval and both members. */
  approval?: { id: string; requestedBy: string; approvedBy?: string }
  /** Certificates adopted for a team while this request read them (ownership/reconcile.ts). */
  adopted?: { certificate_id: string; team: string }[]
  /** Set when the upstream itself failed (5xx, 429, timeout, unreachable, not an envelope). */
  upstreamFailed?: boolean
  /** How many HTTP calls reached the upstream for this request. */
  upstreamAttempts: number
  /** What the caller was answered: set by `renderError` for failures, by the audit trail otherwise. */
  outcome?: { status: number; codes: number[] }
}

export function newFacts(requestId: string, startedAt = Date.now()): RequestFacts {
  return { requestId, startedAt, upstreamAttempts: 0 }
}

/** Names what the request is about, as soon as a handler knows it. */
export function note(
  c: { var: { facts: RequestFacts } },
  action: Action,
  accountId: string,
  certificateId?: string,
): void {
  const facts = c.var.facts
  facts.action = action
  facts.accountId = accountId
  if (certificateId !== undefined) facts.certificateId = certificateId
}
