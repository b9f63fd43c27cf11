/**
 * Pending two-person deletes: the approval record and the port its store implements. A delete that
 * policy gates behind an approval is stored instead of being forwarded; a different member holding
 * an approver role executes it later, exactly once.
 *
 * The store is the coordinator (src/coordinator/: a Durable Object per account), which makes each
 * transition atomic: pending → executing (the one claim that may forward the delete) → executed
 * or failed; executing → pending when the claimant is refused before forwarding; pending → expired. This module holds only the record's shape and the port, so
 * the operations and their unit tests run on any implementation of it.
 */
import { z } from '@hono/zod-openapi'
import type { CertificateLabel } from '../ownership/ledger'
import type { CertificateFacts } from '../policy/decide'

export const ENDINGS = ['withdrawn', 'rejected', 'gone'] as const

export const approvalSchema = z.object({
  id: z.string(),
  account_id: z.string(),
  certificate_id: z.string(),
  requested_by: z.string(),
  requested_team: z.string(),
  request_id: z.string(),
  roles: z.array(z.string()),
  rule_ids: z.array(z.string()),
  /**
   * The certificate as it was when the delete was requested: who may see the approval is decided
   * on it, and pages show it from here (name, fingerprint, issuer as far as the gateway knew them
   * then), never by asking the upstream once per approval.
   */
  certificate: z.object({
    owner_team: z.string().nullable(),
    ca: z.boolean().optional(),
    expires_on: z.string().optional(),
    name: z.string().nullable().optional(),
    fingerprint_sha256: z.string().optional(),
    issuer: z.string().optional(),
  }),
  created_at: z.string(),
  expires_at: z.string(),
  // Issue 22: withdrawn by its requester, rejected by an approver, or gone (the certificate no
  // longer exists: closed by the gateway when someone looked).
  status: z.enum(['pending', 'executing', 'executed', 'failed', 'expired', ...ENDINGS]),
  approved_by: z.string().optional(),
  closed_at: z.string().optional(),
  outcome: z.string().optional(),
  /** Issue 22: why the requester asks (stored with the request, shown to approvers). */
  reason: z.string().optional(),
  /** Issue 22: who withdrew or rejected it ("gateway" for gone), and why. */
  closed_by: z.string().optional(),
  close_reason: z.string().optional(),
})

/** Issue 22: how a pending approval ends without a delete. */
export type Ending = {
  status: (typeof ENDINGS)[number]
  by: string
  reason?: string | undefined
}
export type Approval = z.infer<typeof approvalSchema>

/** What a claim found: `claimed` only for the one call that moved it from pending to executing. */
export interface Claim {
  claimed: boolean
  /** The approval as it is after the claim (null if unknown): its status says why one lost. */
  approval: Approval | null
}

export interface Closing {
  status: 'executed' | 'failed'
  /** Why it failed, for the record. */
  outcome?: string
}

/**
 * Every method may throw (a GatewayError saying what was unavailable); none retries by itself.
 * `claim` and `close` are atomic: of any number of concurrent claims of a pending approval exactly
 * one is `claimed`, and only an executing approval closes, once.
 */
export interface ApprovalStore {
  /** A fresh approval id for the account (the store may route on it). */
  newId(accountId: string): string
  /** Stores a new pending approval. */
  put(approval: Approval): Promise<void>
  /** The approval, `expired` once past its expiry; null if unknown. */
  get(id: string): Promise<Approval | null>
  claim(id: string, approver: string, now: Date): Promise<Claim>
  /** Back from executing to pending: only by its claimant, refused before it forwarded anything. */
  release(id: string, approver: string): Promise<void>
  close(id: string, closing: Closing, now: Date): Promise<void>
  /**
   * A page of the account's pending approvals (not expired), oldest first, that `concerning` may
   * be concerned by (requested by them, or naming one of their roles; visibility is decided by the
   * caller on each record). `after` is the previous page's `next`; `next` is null on the last page.
   */
  pending(
    accountId: string,
    page: PendingPage,
  ): Promise<{ approvals: Approval[]; next: string | null }>
  // Issue 22.
  /**
   * Stores a new pending approval unless the certificate already has one open (pending or
   * executing): then that one, untouched (`existing`). One step, so two requests at once park one.
   */
  parkOnce(approval: Approval): Promise<{ approval: Approval; existing: boolean }>
  /** Ends a pending approval without a delete; `ended` only for the call that did it. */
  end(id: string, ending: Ending, now: Date): Promise<{ ended: boolean; approval: Approval | null }>
}

export interface PendingPage {
  after: string | null
  limit: number
  concerning: {
    member: string
    roles: readonly string[]
    /** Issue 22: every pending approval (an auditor's read-only view). */
    everyone?: boolean
  }
}

type StoredFacts = Approval['certificate']

/** The certificate facts kept with an approval, and back: who may see it is decided on them. */
export function toStoredFacts(
  { ownerTeam, ca, expiresOn }: CertificateFacts,
  label: CertificateLabel = {},
): StoredFacts {
  return {
    owner_team: ownerTeam,
    ...(ca !== undefined ? { ca } : {}),
    ...(expiresOn !== undefined ? { expires_on: expiresOn } : {}),
    ...(label.name !== undefined ? { name: label.name } : {}),
    ...(label.fingerprintSha256 !== undefined
      ? { fingerprint_sha256: label.fingerprintSha256 }
      : {}),
    ...(label.issuer !== undefined ? { issuer: label.issuer } : {}),
  }
}

export function fromStoredFacts({ owner_team, ca, expires_on }: StoredFacts): CertificateFacts {
  return {
    ownerTeam: owner_team,
    ...(ca !== undefined ? { ca } : {}),
    ...(expires_on !== undefined ? { expiresOn: expires_on } : {}),
  }
}
