/**
 * Owns: the two timestamp formats the upstream uses.
 *
 * - `uploaded_on` / `updated_at`: RFC 3339, UTC, six fractional digits, e.g.
 *   `2022-11-22T17:32:30.467938Z`. Workers clocks have millisecond resolution (and stand still
 *   during a request), so the last three digits are random, and a per-isolate high-water mark keeps
 *   every stamp strictly increasing: two uploads in one millisecond still sort in upload order.
 * - `expires_on`: RFC 3339, UTC, whole seconds (`2122-10-29T16:59:47Z`).
 *
 * Stamps follow the emulator's clock (clock.ts), which tests can move.
 */

import { emulatorNow } from './clock'

let lastMicros = 0

export function nowWithMicros(): string {
  const micros = Math.max(emulatorNow() * 1000 + Math.floor(Math.random() * 1000), lastMicros + 1)
  lastMicros = micros
  const wholeSeconds = new Date(Math.floor(micros / 1_000_000) * 1000).toISOString().slice(0, 19)
  return `${wholeSeconds}.${String(micros % 1_000_000).padStart(6, '0')}Z`
}

/** After the clock is set back (reset): stamps follow it again. */
export function resetStamps(): void {
  lastMicros = 0
}

export function toWholeSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
