/**
 * Who may read the audit log (query, export, verify): the one place that decides it. Today, a
 * member holding the `auditor` or `admin` role; once the policy decides gateway actions, this
 * becomes the decision for action `audit`.
 */
import type { Principal } from '../identity/principal'

export function mayReviewAudit(principal: Principal): boolean {
  return principal.roles.includes('auditor') || principal.roles.includes('admin')
}
