/**
 * Which approvals a console visitor may be concerned by. The approvals store answers by id only
 * (approvals/store.ts: get, claim, close; no listing), so the console finds the ids where every
 * parked delete is on record: the audit log. A parked delete's entry carries its approval
 * (audit/entry.ts), and no approval outlives the longest `ttl_minutes` of the policy, so listing
 * the `delete` entries of that window finds every approval that can still be pending.
 *
 * This is only discovery: each id is then read with `getApproval` (approvals/approve.ts), which
 * shows a member only the approvals they requested or could approve, exactly as
 * `GET /gateway/v1/approvals/{id}` does; the audit entries themselves are never shown here. KV is
 * eventually consistent, so an approval parked a moment ago in another location can take up to a
 * minute to appear.
 */
import { entries } from '../audit/query'
import type { Policy } from '../policy/document'

/** Parked deletes listed per page, and the list() calls spent on them. */
export const MAX_APPROVALS = 200
const LIST_BUDGET = 20
/** Entries are timed at the request, the approval's expiry a moment later. */
const SLACK_MS = 5 * 60_000

export function approvalWindowMs(policy: Policy): number {
  const ttls = policy.rules.flatMap((rule) => (rule.approval ? [rule.approval.ttl_minutes] : []))
  return ttls.length === 0 ? 0 : Math.max(...ttls) * 60_000 + SLACK_MS
}

/** Approval ids of the deletes parked within the window, newest first. */
export async function parkedApprovalIds(
  kv: KVNamespace,
  policy: Policy,
  now: number,
): Promise<string[]> {
  const window = approvalWindowMs(policy)
  if (window === 0) return []
  const range = { from: now - window, to: now, endsNow: true }
  const walk = entries(kv, { action: 'delete', range }, { lists: LIST_BUDGET })
  const ids = new Set<string>()
  for (;;) {
    const next = await walk.next()
    if (next.done) break
    const approval = next.value.entry.approval
    if (approval !== undefined) ids.add(approval.id)
    if (ids.size >= MAX_APPROVALS) {
      await walk.return(undefined)
      break
    }
  }
  return [...ids]
}
