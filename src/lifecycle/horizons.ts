/**
 * Which horizon a certificate stands at (issue 23), as a pure function of its expiry and now.
 *
 * Horizons are days before expiry, largest first (policy `lifecycle.horizons_days`, default 60,
 * 30, 14, 7, 1), then `expired`. A certificate stands at the last horizon it has reached: 10 days
 * out with the defaults is `14d`. Only that horizon is notified; the ones it passed before the
 * watch first saw it are not sent late (a 60-day warning 10 days out would only be noise).
 */
export const EXPIRED = 'expired'
const DAY_MS = 86_400_000

export const horizonLabel = (days: number) => `${days}d`

/** The horizons in order, as labels: `['60d', ..., '1d', 'expired']`. */
export const horizonLabels = (days: readonly number[]) => [...days.map(horizonLabel), EXPIRED]

/** The horizon reached at `nowMs`, or undefined when none is (further out than the first). */
export function horizonAt(
  expiresOnMs: number,
  nowMs: number,
  days: readonly number[],
): string | undefined {
  if (expiresOnMs <= nowMs) return EXPIRED
  const left = (expiresOnMs - nowMs) / DAY_MS
  const reached = days.filter((d) => left <= d)
  return reached.length === 0 ? undefined : horizonLabel(Math.min(...reached))
}

/** Whole days left (0 once expired), for the message. */
export const daysLeft = (expiresOnMs: number, nowMs: number) =>
  Math.max(0, Math.floor((expiresOnMs - nowMs) / DAY_MS))
