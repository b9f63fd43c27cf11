/**
 * The ownership ledger's port: which team owns which certificate, and the uploads in flight. The
 * upstream object has no owner field, so the ledger is the only record of it. It lives in the
 * account's coordinator (coordinator/ledger.ts: tables, atomic steps; coordinator/client.ts: this
 * port over RPC), because ownership needs read-your-writes across locations and a check-and-set
 * (adoption, the CA quota) that KV cannot give. This module holds only the shapes and the port, so
 * the operations and their unit tests run on any implementation of it.
 *
 * Every method may throw (503 COORDINATOR_UNAVAILABLE: the coordinator cannot be reached). Reads
 * and changes then fail closed, before anything is forwarded; only the bookkeeping after a change
 * the upstream confirmed says so to the caller instead and leaves the intent for adoption
 * (bookkeeping.ts).
 */
import { z } from '@hono/zod-openapi'
import type { ChainAsk, ChainPosition } from '../audit/chain'
import type { Pairing } from '../coordinator/notices'

/** How long an upload's intent lives: long enough to adopt after a lost answer, then an admin's. */
export const INTENT_TTL_MS = 86_400_000

/**
 * Allowed disagreement between the gateway's clock and the upstream's `uploaded_on`, on one side
 * only: a certificate may be stamped up to this much after its upload could have ended, never
 * before its intent was written (reconcile.ts).
 */
export const CLOCK_SKEW_MS = 60_000

export const ownershipSchema = z.object({
  team: z.string(),
  member: z.string(),
  request_id: z.string(),
  assigned_at: z.string(),
  via: z.enum(['upload', 'assign', 'adopt']),
  ca: z.boolean().optional(),
  expires_on: z.string().optional(),
  fingerprint_sha256: z.string().optional(),
  /** The name it was uploaded with: pages show it without asking the upstream. */
  name: z.string().optional(),
})
export type Ownership = z.infer<typeof ownershipSchema>

/** What the gateway knows of a certificate besides its decision facts: for display only. */
export interface CertificateLabel {
  name?: string | null | undefined
  fingerprintSha256?: string | undefined
  issuer?: string | undefined
}

export interface UploadIntent {
  bundle_sha256: string
  team: string
  member: string
  request_id: string
  /** When the upload was about to be forwarded (ISO 8601). */
  at: string
  ca: boolean
  expires_on: string
}

/** What a list needs of the live intents to find adoption candidates without a second round trip. */
export interface IntentSummary {
  bundle_sha256: string
  at_ms: number
}

/** An unowned certificate the upstream holds, as adoption compares it with intents. */
export interface AdoptionCandidate {
  id: string
  bundle_sha256: string
  /** The upstream's `uploaded_on`, in ms. */
  created_ms: number
}

export interface Adopted {
  certificate_id: string
  team: string
  request_id: string
}

/** Whether an upload may go ahead; `used` is the team's CA count (owned and in flight). */
export interface IntentAdmission {
  admitted: boolean
  used: number
}

export interface Ledger {
  owner(accountId: string, certificateId: string): Promise<Ownership | null>
  /** Owning team per certificate id for a whole account, and its live intents: one round trip. */
  owners(accountId: string): Promise<{ owners: Map<string, string>; intents: IntentSummary[] }>
  /** The live intents, for adoption; without the owners (one certificate's read). */
  intents(accountId: string): Promise<IntentSummary[]>
  assign(accountId: string, certificateId: string, ownership: Ownership): Promise<void>
  /**
   * Assigns unless a CA would take the new team past `caQuota` (null: no limit); refused, not
   * thrown. The count and the write are one step.
   */
  assignWithin(
    accountId: string,
    certificateId: string,
    ownership: Ownership,
    caQuota: number | null,
  ): Promise<IntentAdmission>
  release(accountId: string, certificateId: string): Promise<void>
  /** Refused (not thrown) when a CA upload would take its team past `caQuota`. */
  recordIntent(
    accountId: string,
    intent: UploadIntent,
    caQuota: number | null,
  ): Promise<IntentAdmission>
  /**
   * `recordIntent` and, when admitted and `numbering` is given, the audit entry's number in its
   * chain, in one round trip (the account's instance holds both).
   */
  recordIntentNumbered(
    accountId: string,
    intent: UploadIntent,
    caQuota: number | null,
    numbering: ChainAsk | undefined,
  ): Promise<IntentAdmission & { position: ChainPosition | null }>
  /**
   * Issue 21 item 3: `owner` and, when `numbering` is given, the audit entry's number: one round
   * trip; with the certificate's successor pairings (issue 23's rotation gate), read in the same.
   */
  ownerNumbered(
    accountId: string,
    certificateId: string,
    numbering: ChainAsk | undefined,
  ): Promise<{ owner: Ownership | null; position: ChainPosition | null; pairings: Pairing[] }>
  clearIntent(accountId: string, requestId: string): Promise<void>
  /**
   * The owner written and the upload's intent cleared, in one step; with the upstream's answer
   * (`certificate`), the account snapshot takes it in the same step (issue 21, snapshot/port.ts).
   */
  confirmUpload(
    accountId: string,
    certificateId: string,
    ownership: Ownership,
    certificate?: { id: string } & Record<string, unknown>,
  ): Promise<void>
  /** Adopts what exactly one live intent explains (coordinator/ledger.ts); atomic. */
  adopt(
    accountId: string,
    candidates: AdoptionCandidate[],
    uploadWindowMs: number,
  ): Promise<Adopted[]>
  /** CA certificates the team holds in the account, uploads in flight included. */
  caHeldBy(accountId: string, team: string): Promise<number>
}
