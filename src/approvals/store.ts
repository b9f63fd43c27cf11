/**
 * Pending two-person deletes. A delete that policy gates behind an approval is stored here instead
 * of being forwarded; a different member holding an approver role executes it later.
 *
 * Key layout, in the LEDGER namespace:
 *   approval:v1:<approval_id>   value: Approval (JSON)
 * The key lives one day past the approval's expiry so that "expired" can be told from "unknown";
 * KV's TTL then removes it. Each approval is written by the request that creates it and by the one
 * that closes it; KV has no compare-and-set, so two approvers racing within KV's propagation delay
 * could both see it pending (README: "Two-person deletes" says what that means and why it is safe).
 */
import { z } from '@hono/zod-openapi'
import type { CertificateFacts } from '../policy/decide'

const LINGER_SECONDS = 86_400

const approvalSchema = z.object({
  id: z.string(),
  account_id: z.string(),
  certificate_id: z.string(),
  requested_by: z.string(),
  requested_team: z.string(),
  request_id: z.string(),
  roles: z.array(z.string()),
  rule_ids: z.array(z.string()),
  /** The certificate as it was when the delete was requested: who may see the approval is decided on it. */
  certificate: z.object({
    owner_team: z.string().nullable(),
    ca: z.boolean().optional(),
    expires_on: z.string().optional(),
  }),
  created_at: z.string(),
  expires_at: z.string(),
  status: z.enum(['pending', 'executed', 'failed']),
  approved_by: z.string().optional(),
  closed_at: z.string().optional(),
  outcome: z.string().optional(),
})
export type Approval = z.infer<typeof approvalSchema>

const key = (id: string) => `approval:v1:${id}`

export interface ApprovalStore {
  put(approval: Approval): Promise<void>
  get(id: string): Promise<Approval | null>
}

export function approvals(kv: KVNamespace): ApprovalStore {
  async function put(approval: Approval) {
    const expiresAt = Math.floor(Date.parse(approval.expires_at) / 1000) + LINGER_SECONDS
    await kv.put(key(approval.id), JSON.stringify(approval), { expiration: expiresAt })
  }
  return {
    put,
    async get(id: string): Promise<Approval | null> {
      const stored = await kv.get(key(id), 'json')
      const parsed = approvalSchema.safeParse(stored)
      return parsed.success ? parsed.data : null
    },
  }
}

type StoredFacts = Approval['certificate']

/** The certificate facts kept with an approval, and back: who may see it is decided on them. */
export function toStoredFacts({ ownerTeam, ca, expiresOn }: CertificateFacts): StoredFacts {
  return {
    owner_team: ownerTeam,
    ...(ca !== undefined ? { ca } : {}),
    ...(expiresOn !== undefined ? { expires_on: expiresOn } : {}),
  }
}

export function fromStoredFacts({ owner_team, ca, expires_on }: StoredFacts): CertificateFacts {
  return {
    ownerTeam: owner_team,
    ...(ca !== undefined ? { ca } : {}),
    ...(expires_on !== undefined ? { expiresOn: expires_on } : {}),
  }
}
