/**
 * What the audit records about one request, and how it comes together.
 *
 * Operations never write the request's record. They take plain inputs and return an `Outcome`
 * (kernel/operation.ts): the value (or the refusal) plus the `Findings` the audit needs (which
 * certificate, the deciding decision, the approval, adoptions). The record is then assembled once, by `recordOf`, from what
 * each stage owns: the route's declared action, the principal from authentication, the findings,
 * the upstream port's call count and the answer's status. Nothing else builds one.
 */
import type { ChainAsk, ChainPosition } from './position'
import type { GatewayError } from '../lib/errors'
import type { Principal } from '../identity/principal'
import type { CertificateFacts, Decision } from '../policy/decide'
import type { UpstreamStats } from '../upstream/port'
import { ACTIONS } from '../policy/rules'

/**
 * Every action a route can declare: the policy's, the gateway's own reads, and the review
 * console's sign-in and sign-out (src/console/).
 */
export const AUDITED_ACTIONS = [
  ...ACTIONS,
  'whoami',
  'explain',
  'approval',
  'transfer',
  'sign_in',
  'sign_out',
  // Issue 23 (lifecycle)
  'expiring',
  'acknowledge',
  'successor',
  'notices', // issue 23: dead notices listed
  'requeue', // issue 23: a dead notice re-queued
  // Issue 22: a requester withdraws a parked delete; an approver rejects one.
  'withdraw',
  'reject',
  'members', // issue 20, slice 4
] as const
export type Action = (typeof AUDITED_ACTIONS)[number]

/** What an operation learnt on its way, whether it ended in a value or a refusal. */
export interface Findings {
  accountId?: string
  certificateId?: string
  /** For uploads: what the gateway read from the PEM (never the PEM or a key). */
  certificate?: { name?: string; fingerprintSha256: string; serialNumber: string }
  /** The policy decision that let the request through or stopped it, shadow results included. */
  decision?: Decision
  /** For a two-person delete, or a transfer request (ownership/transfer.ts): its id, both members. */
  approval?: {
    id: string
    requestedBy: string
    approvedBy?: string
    /** Issue 22: the requester's reason, or a withdraw's or reject's. */
    reason?: string | undefined
  }
  /** Certificates adopted for a team while this request read them (ownership/reconcile.ts). */
  adopted?: { certificate_id: string; team: string }[]
  /** An owner assigned by an admin (ownership/assign.ts): the new team and the one before. */
  assigned?: { team: string; previousTeam: string | null }
  /**
   * An owner record dropped because the upstream no longer has the certificate (it answered 1472
   * to a read or delete of an owned one; ownership/facts.ts): the team whose slot it freed.
   */
  released?: { certificate_id: string; team: string }
  /** An assign past the new team's CA quota, let through by the admin's `override_quota`. */
  quotaOverride?: { team: string; quota: number; held: number }
  // Issue 21: how a read was served (snapshot/serve.ts): the snapshot's revision and age, or the
  // upstream; `cacheStatus` is the RFC 9211 header the answer carries.
  served?: Served
  /**
   * Issue 20: what the decision was made on (the caller's roles, the certificate's facts; none for
   * the collection), so that a what-if replay can decide the request again (control/what-if.ts).
   */
  decidedOn?: { roles: readonly string[]; facts: CertificateFacts | undefined }
  /** Issue 20: a policy change proposed, approved, rejected or rolled back (control/propose.ts). */
  policyChange?: {
    proposal: string
    kind: 'apply' | 'rollback' | 'bootstrap' // control-api: bootstrap (control/bootstrap-record.ts)
    verdict: 'propose' | 'approve' | 'reject' | 'bootstrap'
    before: string
    after: string
    summary: string
  }
  // Issue 22 (review): what the request touched, as the gateway knew it.
  /**
   * The certificate the request concerned, as the gateway knew it (the ledger, the upload, or
   * what the operation fetched): set before the first `beforeChange`, because the pending entry's
   * chain link commits to the fingerprint.
   */
  subject?: CertificateSubject
  /** What a request did, when it is not the route's action: an approve that ran a delete. */
  performed?: Action
  /** Issue 20, slice 4: a member key minted, rotated or revoked (control/members.ts). */
  keyChange?: {
    verb: 'mint' | 'rotate' | 'revoke'
    key_id: string
    member: string
    team: string
    roles: readonly string[]
    expires_at: string
    replaced_key_id?: string
    replaced_until?: string
  }
}

/** Issue 21: how a read was served. */
export interface Served {
  via: 'snapshot' | 'upstream'
  /** The snapshot's revision it was answered from (or stored into). */
  revision?: number
  /** The snapshot's age in seconds when answered from it. */
  ageSeconds?: number
  /** Served from a snapshot past its max age (a refresh under way, or the upstream failing). */
  stale?: boolean
  cacheStatus: string
}

/** A certificate's name, kind and owner as an entry records them (issue 22). */
export interface CertificateSubject {
  name?: string | null | undefined
  ca?: boolean | undefined
  ownerTeam?: string | null | undefined
  fingerprintSha256?: string | undefined
}

/**
 * Adds what is now known of the certificate to the findings, never losing or changing a
 * fingerprint already noted (it may be on the pending entry's record already).
 */
export function noteSubject(found: Findings, known: CertificateSubject): void {
  const before = found.subject ?? {}
  const merged: CertificateSubject = { ...before }
  if (known.name !== undefined && known.name !== null) merged.name = known.name
  if (known.ca !== undefined) merged.ca = known.ca
  if (known.ownerTeam !== undefined) merged.ownerTeam = known.ownerTeam
  if (before.fingerprintSha256 === undefined && known.fingerprintSha256 !== undefined) {
    merged.fingerprintSha256 = known.fingerprintSha256
  }
  found.subject = merged
}

export interface RequestFacts extends Findings {
  requestId: string
  startedAt: number
  principal?: Principal
  action?: Action
  upstreamFailed?: boolean
  /** How many HTTP calls reached the upstream for this request. */
  upstreamAttempts: number
  /** What the caller was answered; absent while a change is pending. */
  outcome?: { status: number; codes: number[] }
  /** Issue 20: the id of the policy revision the request was served under. */
  policyRevision?: string
  // Issue 22 (review-audit): a read (GET), and a read that was a console page.
  readOnly?: boolean
  pageView?: boolean
}

/** The parts of a request the record is assembled from, each owned by the stage that knows it. */
export interface RecordParts {
  requestId: string
  startedAt: number
  principal?: Principal | undefined
  action?: Action | undefined
  findings?: Findings | undefined
  upstream?: UpstreamStats | undefined
  answer?: { status: number; failure?: GatewayError | undefined } | undefined
  /** Issue 20: the policy revision the request was served under (its configuration's). */
  policyRevision?: string | undefined
  // Issue 22 (review-audit): what the route is (a read; a console page), from its method and mount.
  readOnly?: boolean | undefined
  pageView?: boolean | undefined
}

/** The one place a request's record is built. */
export function recordOf(parts: RecordParts): RequestFacts {
  const { findings = {}, upstream, answer } = parts
  return {
    ...findings,
    requestId: parts.requestId,
    startedAt: parts.startedAt,
    ...(parts.principal !== undefined ? { principal: parts.principal } : {}),
    ...(parts.action !== undefined ? { action: parts.action } : {}),
    ...(upstream?.failed ? { upstreamFailed: true } : {}),
    upstreamAttempts: upstream?.attempts ?? 0,
    ...(parts.policyRevision !== undefined ? { policyRevision: parts.policyRevision } : {}),
    ...(parts.readOnly === true ? { readOnly: true } : {}), // issue 22 (review-audit)
    ...(parts.pageView === true ? { pageView: true } : {}),
    ...(answer !== undefined
      ? {
          outcome: {
            status: answer.status,
            codes: answer.failure?.errors.map((e) => e.code) ?? [],
          },
        }
      : {}),
  }
}

/**
 * What operations may ask of the audit: put the change they are about to make on record, before
 * it is made. It refuses (503) when the record cannot be written; a request is recorded once
 * however many changes it makes (audit/middleware.ts).
 */
export interface AuditPort {
  beforeChange(found: Findings): Promise<void>
  /**
   * Issue 21 item 3: `beforeChange`, with the entry's number taken by `take` inside a coordinator
   * call the operation makes anyway (an upload's intent), so the two cost one round trip. `take`
   * gets what numbering needs (nothing once the request is on record) and answers the number, or
   * null when it refused the change (then nothing is written now). Its own failure is thrown as
   * is; a number without a written entry is AUDIT_UNAVAILABLE. Optional: ports without it are
   * used through `beforeChange`.
   */
  beforeChangeWith?(
    found: Findings,
    take: (ask: ChainAsk | undefined) => Promise<ChainPosition | null>,
  ): Promise<void>
  /**
   * Issue 21 item 3: takes the entry's number now, in a coordinator call the operation makes
   * anyway (a delete's owner read), before it knows whether it will change anything; the entry is
   * written under that number by `beforeChange` or, if nothing changes, after the response. `take`
   * answers its own value and the number (null: none taken); it gets no ask once numbered.
   */
  numberWith?<T>(
    found: Findings,
    take: (ask: ChainAsk | undefined) => Promise<{ value: T; position: ChainPosition | null }>,
  ): Promise<T>
}
