/**
 * Transfer requests: how a team asks for a certificate another team holds (or none does) when its
 * upload of the same PEM was refused as a duplicate it cannot see (18341). The record and the port
 * its store implements; the store is the account's coordinator (coordinator/transfers.ts), which
 * makes each transition one atomic step:
 *
 *   pending ──claim──▶ executing ──close──▶ executed
 *      ▲                   │
 *      └─────reopen────────┘  (the approver's assign was refused: quota, policy, gone)
 *   pending ──(past expires_at)──▶ expired
 *
 * One pending request per certificate and asking team: filing again answers the one there is, so
 * the table holds at most (certificates × teams) live rows whatever a member sends.
 */
import { z } from '@hono/zod-openapi'

export const TRANSFER_TTL_MS = 7 * 86_400_000

export const transferSchema = z.object({
  id: z.string(),
  account_id: z.string(),
  certificate_id: z.string(),
  /** The certificate as it was when asked for: who may approve is decided on it again, now. */
  from_team: z.string().nullable(),
  ca: z.boolean().optional(),
  expires_on: z.string().optional(),
  to_team: z.string(),
  requested_by: z.string(),
  request_id: z.string(),
  created_at: z.string(),
  expires_at: z.string(),
  status: z.enum(['pending', 'executing', 'executed', 'expired']),
  approved_by: z.string().optional(),
  closed_at: z.string().optional(),
})
export type Transfer = z.infer<typeof transferSchema>

export interface TransferStore {
  newId(accountId: string): string
  /** Stores a pending request, or answers the pending one for the same certificate and team. */
  file(transfer: Transfer): Promise<Transfer>
  /** The account's requests that are pending, or closed within the last day. */
  list(accountId: string): Promise<Transfer[]>
  get(id: string): Promise<Transfer | null>
  /** pending → executing, for exactly one caller; the record after the attempt. */
  claim(
    accountId: string,
    id: string,
    approver: string,
  ): Promise<{ claimed: boolean; transfer: Transfer | null }>
  /** executing → pending, by its claimant, when the assign was refused. */
  reopen(accountId: string, id: string, approver: string): Promise<void>
  /** executing → executed. */
  close(accountId: string, id: string): Promise<void>
}
