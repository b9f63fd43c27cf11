/**
 * What a reviewer filters the log on, and whether an entry's signed summary matches: one rule for
 * queries and exports (query.ts) and for the offline check that an export holds only what its
 * marker says it was filtered to (verify-export.ts). Pure, so the offline verifier can use it.
 */
import { touches, type OutcomeClass, type Summary } from './entry'

export interface Filters {
  team?: string
  member?: string
  action?: string
  decision?: 'allow' | 'deny' | 'none'
  outcome?: OutcomeClass
  certificate?: string
  requestId?: string
  /** Issue 20: the policy revision that decided the entry. */
  policyRevision?: string
}

/** Team, member and certificate match on everyone the entry touches (entry.ts), not only its caller. */
export function matches(summary: Summary, filters: Filters): boolean {
  const parties =
    filters.team !== undefined || filters.member !== undefined || filters.certificate !== undefined
      ? touches(summary)
      : undefined
  return (
    (filters.team === undefined || parties!.teams.includes(filters.team)) &&
    (filters.member === undefined || parties!.members.includes(filters.member)) &&
    (filters.action === undefined || summary.a === filters.action) &&
    (filters.certificate === undefined || parties!.certificates.includes(filters.certificate)) &&
    (filters.outcome === undefined || summary.o === filters.outcome) &&
    (filters.requestId === undefined || (summary.k === 'r' && summary.id === filters.requestId)) &&
    (filters.decision === undefined || (summary.d ?? 'none') === filters.decision) &&
    (filters.policyRevision === undefined || summary.pr === filters.policyRevision) // issue 20
  )
}
