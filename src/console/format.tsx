/** Small renderings several pages share: times, days left, outcomes. */
import type { AuditEntry, OutcomeClass } from '../audit/entry'

const DAY_MS = 86_400_000

/** An instant as UTC to the second, in a `<time>` a reader or tool can parse. */
export function Time(props: { at: string | number | undefined }) {
  if (props.at === undefined) return <span class="hint">unknown</span>
  const ms = typeof props.at === 'number' ? props.at : Date.parse(props.at)
  if (Number.isNaN(ms)) return <span>{String(props.at)}</span>
  const iso = new Date(ms).toISOString()
  return <time datetime={iso}>{`${iso.slice(0, 19).replace('T', ' ')} UTC`}</time>
}

/** An age in words: "just now", "12 min ago", "3 h ago", "2 days ago". */
export function ageText(seconds: number): string {
  if (seconds < 60) return 'just now'
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  const days = Math.floor(seconds / 86_400)
  return `${days} day${days === 1 ? '' : 's'} ago`
}

/** Whole days from now until `expiresOn`, negative once expired; undefined if unparsable. */
export function daysLeft(expiresOn: string | undefined, now: number): number | undefined {
  if (expiresOn === undefined) return undefined
  const ms = Date.parse(expiresOn)
  return Number.isNaN(ms) ? undefined : Math.floor((ms - now) / DAY_MS)
}

const EXPIRING_DAYS = 30

export type Expiry = 'expired' | 'expiring' | 'ok' | 'unknown'

export function expiryOf(days: number | undefined): Expiry {
  if (days === undefined) return 'unknown'
  if (days < 0) return 'expired'
  return days <= EXPIRING_DAYS ? 'expiring' : 'ok'
}

export function ExpiryBadge(props: { days: number | undefined }) {
  const kind = expiryOf(props.days)
  if (kind === 'expired') return <span class="badge bad">expired</span>
  if (kind === 'expiring')
    return (
      <span class="badge warn">{`expires in ${props.days} day${props.days === 1 ? '' : 's'}`}</span>
    )
  if (kind === 'ok') return <span class="badge good">{`${props.days} days left`}</span>
  return <span class="badge info">expiry unknown</span>
}

const OUTCOME_TONE: Record<OutcomeClass, string> = {
  allowed: 'good',
  denied: 'bad',
  invalid: 'warn',
  unauthenticated: 'bad',
  upstream_error: 'bad',
  gateway_error: 'bad',
  pending: 'info',
  // Issue 22: a parked delete deleted nothing yet.
  parked: 'warn',
}

export function OutcomeBadge(props: { outcome: OutcomeClass }) {
  return <span class={`badge ${OUTCOME_TONE[props.outcome]}`}>{props.outcome}</span>
}

/** Denied and failed entries stand out in a list (a row class, and their badge's words). */
export function rowClassOf(entry: AuditEntry): string | undefined {
  const o = entry.outcome.class
  if (o === 'denied' || o === 'unauthenticated') return 'denied'
  if (o === 'upstream_error' || o === 'gateway_error') return 'failed'
  return undefined
}
