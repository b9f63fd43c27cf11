/** What a parked (two-person) delete must tell a Cloudflare client, checked against the gateway. */
import { expect } from 'vitest'
import { e2e } from './context'

/**
 * The message of a parked delete must let a person act on it: the approval's id (which the
 * gateway knows as a pending approval of this certificate), its expiry and who may approve.
 */
export async function expectNamesApproval(
  message: string,
  certificateId: string,
  requester: string,
  status: 'pending' | 'executed' = 'pending',
) {
  const candidates = [
    ...message.matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g),
  ]
    .map((m) => m[0])
    .filter((id) => id !== certificateId)
  const approvals = []
  for (const id of new Set(candidates)) {
    const response = await fetch(`${e2e().gatewayUrl}/gateway/v1/approvals/${id}`, {
      headers: { authorization: `Bearer ${requester}` },
    })
    if (response.status === 200)
      approvals.push(((await response.json()) as { result: Approval }).result)
  }
  expect(approvals, `no pending approval named in: ${message}`).toHaveLength(1)
  const approval = approvals[0]!
  expect(approval).toMatchObject({ certificate_id: certificateId, status })
  expect(message).toContain(approval.expires_at)
  for (const role of approval.roles) expect(message).toContain(role)
}

interface Approval {
  id: string
  certificate_id: string
  status: string
  expires_at: string
  roles: string[]
}
