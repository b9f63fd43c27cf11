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
  // Issue 22: by the certificate's name, as entries record it.
  certificateName?: string
  certificateNamePrefix?: string
  /** Issue 22 (review-audit): leave out reads (CloudTrail's read-only events). */
  changesOnly?: boolean
  /** Issue 22 (review-audit): the console's own page views; absent: included (old markers). */
  pageViews?: PageViews
}

export const PAGE_VIEWS = ['hide', 'include', 'only'] as const
export type PageViews = (typeof PAGE_VIEWS)[number]

/**
 * Actions that only ever read, whatever the method: entries written before reads were marked
 * (`ro`) are still told apart by them. Actions routes use both ways (policy, members, transfer)
 * are told apart by the mark alone.
 */
const READ_ACTIONS: ReadonlySet<string> = new Set([
  'list',
  'get',
  'associations',
  'audit',
  'whoami',
  'explain',
  'approval',
  'expiring',
])

/**
 * A read: marked so, or an action that only reads. Suppressed entries (refusals counted, not
 * recorded one by one) changed nothing either. A lifecycle entry (a notice sent, a change made
 * outside the gateway) is a change.
 */
export const isRead = (summary: Summary) =>
  summary.ro === true ||
  summary.pg === true ||
  summary.k === 's' ||
  (summary.k === 'r' && summary.a !== undefined && READ_ACTIONS.has(summary.a))

function viewsMatch(summary: Summary, views: PageViews | undefined): boolean {
  if (views === undefined || views === 'include') return true
  return views === 'only' ? summary.pg === true : summary.pg !== true
}

/**
 * The recorded name matches, exactly or by prefix. A summary cut to fit KV's metadata (`tr`)
 * keeps only the start of a long name: it matches when what is kept agrees with the filter as far
 * as it goes, so a long name is never missed (the entry itself holds the whole name).
 */
function nameMatches(summary: Summary, name: string, prefix: boolean): boolean {
  const kept = summary.n
  if (kept === undefined) return false
  if (prefix ? kept.startsWith(name) : kept === name) return true
  return summary.tr === 1 && kept.length > 0 && name.startsWith(kept)
}

/**
 * An approved delete is recorded as the `delete` it ran (issue 22); `approve` still finds it, as
 * it finds every approval a member gave.
 */
const actionMatches = (summary: Summary, action: string) =>
  summary.a === action || (action === 'approve' && Boolean(summary.ap?.[2]))

/** Team, member and certificate match on everyone the entry touches (entry.ts), not only its caller. */
export function matches(summary: Summary, filters: Filters): boolean {
  const parties =
    filters.team !== undefined || filters.member !== undefined || filters.certificate !== undefined
      ? touches(summary)
      : undefined
  return (
    (filters.team === undefined || parties!.teams.includes(filters.team)) &&
    (filters.member === undefined || parties!.members.includes(filters.member)) &&
    (filters.action === undefined || actionMatches(summary, filters.action)) &&
    (filters.certificate === undefined || parties!.certificates.includes(filters.certificate)) &&
    (filters.outcome === undefined || summary.o === filters.outcome) &&
    (filters.requestId === undefined || (summary.k === 'r' && summary.id === filters.requestId)) &&
    (filters.decision === undefined || (summary.d ?? 'none') === filters.decision) &&
    (filters.policyRevision === undefined || summary.pr === filters.policyRevision) &&
    (filters.certificateName === undefined ||
      nameMatches(summary, filters.certificateName, false)) &&
    (filters.certificateNamePrefix === undefined ||
      nameMatches(summary, filters.certificateNamePrefix, true)) &&
    (filters.changesOnly !== true || !isRead(summary)) &&
    viewsMatch(summary, filters.pageViews)
  )
}
