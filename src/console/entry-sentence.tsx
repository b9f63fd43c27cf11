/**
 * Issue 22 (review-audit): an audit entry as a sentence, "who did what to which certificate, when,
 * decided by which rule (and policy revision)", with every code and its meaning. The entry page
 * puts it first, the entry's facts below it and its integrity last; the list's rows name the
 * parties of an approval with `partiesOf`. A refused approval never reads "approved by": the
 * approver is named as having approved only when the request went through.
 */
import type { AuditEntry } from '../audit/entry'
import { ERROR_CODES } from '../lib/errors'
import { Time } from './format'

/** What a code means, from the gateway's table (Cloudflare's own codes are relayed as they are). */
const MEANINGS = new Map<number, string>(
  Object.values(ERROR_CODES).map((row) => [row.code as number, row.message]),
)
export const meaningOf = (code: number) => MEANINGS.get(code) ?? "Cloudflare's own error code"

/** Each action as done, and as attempted ("tried to ..."). */
const VERBS: Record<string, [done: string, base: string]> = {
  list: ['listed the certificates', 'list the certificates'],
  get: ['read', 'read'],
  upload: ['uploaded', 'upload'],
  delete: ['deleted', 'delete'],
  associations: ['read the associations of', 'read the associations of'],
  assign: ['assigned', 'assign'],
  approve: ['approved the delete of', 'approve the delete of'],
  withdraw: ['withdrew the delete request for', 'withdraw the delete request for'],
  reject: ['rejected the delete request for', 'reject the delete request for'],
  audit: ['read the audit log', 'read the audit log'],
  whoami: ['looked up who they are', 'look up who they are'],
  explain: ['asked the policy to explain a decision', 'ask the policy to explain a decision'],
  approval: ['read an approval', 'read an approval'],
  transfer: ['asked to transfer', 'transfer'],
  sign_in: ['signed in to the console', 'sign in to the console'],
  sign_out: ['signed out of the console', 'sign out of the console'],
  breaker: ['closed the budget breaker', 'close the budget breaker'],
  policy: ['acted on the policy', 'act on the policy'],
  members: ['acted on member keys', 'act on member keys'],
  expiring: ['read what expires', 'read what expires'],
  acknowledge: ['acknowledged the expiry of', 'acknowledge the expiry of'],
  successor: ['named the successor of', 'name the successor of'],
}

/** The certificate as the entry names it: "orders-ca" (CA of identity; id ...). */
function target(e: AuditEntry): string {
  const name = e.certificate_name
  const id = e.certificate_id ?? e.lifecycle?.certificate_id
  if (name === undefined && id === undefined) return ''
  const kind = e.certificate_ca === undefined ? 'certificate' : e.certificate_ca ? 'CA' : 'leaf'
  const owner = e.certificate_team === undefined ? '' : ` of ${e.certificate_team}`
  const label = name === undefined ? `certificate ${id}` : `"${name}"`
  const about = name === undefined ? `${kind}${owner}` : `${kind}${owner}${id ? `, ${id}` : ''}`
  return ` ${label} (${about})`
}

/** Who asked and who decided, as the list's rows and the entry page say it. */
export function partiesOf(e: AuditEntry): string {
  const a = e.approval
  if (a === undefined) return ''
  const asked = `requested by ${a.requested_by}`
  if (a.approved_by === undefined) return asked
  const ran = e.outcome.class === 'allowed'
  return `${asked}, ${ran ? 'approved' : 'approval refused'} by ${a.approved_by}`
}

/** The entry's first sentence: who did (or tried) what to which certificate. */
export function sentenceOf(e: AuditEntry): string {
  if (e.kind === 'suppressed') {
    const count = e.suppressed?.count ?? 0
    return e.member === undefined
      ? `${count} requests that could not be authenticated were counted, not recorded one by one.`
      : `${count} requests of ${e.member} over their rate were refused and counted.`
  }
  if (e.kind !== 'request') {
    const life = e.lifecycle
    return `The gateway recorded a ${e.kind} (${life?.horizon ?? '?'}) about${target(e) || ' a certificate'}.`
  }
  const who =
    e.member === undefined
      ? 'Someone who could not be authenticated'
      : `${e.member}${e.team ? ` (${e.team})` : ''}`
  const [done, base] = VERBS[e.action ?? ''] ?? [
    `did ${e.action ?? 'a request'}`,
    `do ${e.action ?? 'a request'}`,
  ]
  const what = `${target(e)}`
  const approved =
    e.approval !== undefined && e.action === 'delete' && e.approval.approved_by === e.member
  switch (e.outcome.class) {
    case 'allowed':
      if (approved) {
        return `${who} ${done}${what}, approving the request of ${e.approval!.requested_by}.`
      }
      return `${who} ${done}${what}.`
    case 'parked':
      return `${who} asked to ${base}${what}; nothing was deleted: it waits for a second member's approval.`
    case 'pending':
      return `${who} began to ${base}${what}; its outcome was never recorded.`
    case 'denied':
      return `${who} tried to ${base}${what} and was refused.`
    case 'invalid':
      return `${who} tried to ${base}${what}; the request was refused as invalid.`
    case 'unauthenticated':
      return `${who} tried to ${base}${what} without valid credentials.`
    case 'upstream_error':
      return `${who} tried to ${base}${what}; Cloudflare failed to answer.`
    case 'gateway_error':
      return `${who} tried to ${base}${what}; the gateway failed.`
  }
}

/** The rule (and policy revision) that decided, in words. */
export function decidedBy(e: AuditEntry): string {
  const d = e.decision
  const revision = e.policy_revision
    ? ` under policy revision ${e.policy_revision.slice(0, 12)}`
    : ''
  if (d === undefined) return `No policy rule was asked${revision}.`
  if (d.rule_ids.length === 0) return `Denied by default: no rule allows it${revision}.`
  const named = d.rule_ids.length === 1 ? `rule ${d.rule_ids[0]}` : `rules ${d.rule_ids.join(', ')}`
  return `${d.effect === 'allow' ? 'Allowed' : 'Denied'} by ${named}${revision}.`
}

export function EntrySentence(props: { entry: AuditEntry }) {
  const e = props.entry
  const parties = partiesOf(e)
  return (
    <section aria-labelledby="sentence-heading" class="panel sentence">
      <h2 id="sentence-heading">In a sentence</h2>
      <p class="lead">{sentenceOf(e)}</p>
      <p>
        {'When: '}
        <Time at={e.time} />
        {'. '}
        {decidedBy(e)}
      </p>
      {parties && (
        <p>
          {`Approval: ${parties}`}
          {e.approval?.reason !== undefined && ` (reason: "${e.approval.reason}")`}.
        </p>
      )}
      {e.outcome.error_codes.length > 0 && (
        <ul>
          {e.outcome.error_codes.map((code) => (
            <li>
              <code>{String(code)}</code>
              {`: ${meaningOf(code)}`}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
