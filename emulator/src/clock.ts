/**
 * Owns: the emulator's clock. Tests move it (`PUT /__emulator/clock`) to make time pass for what
 * the emulator stamps (`uploaded_on`, the audit log's `action.time`) and to read what "now" is for
 * it, without waiting. It is an offset over the isolate's real clock, so it keeps moving (Workers
 * clocks stand still within a request, move between them) and `reset` puts it back to real time.
 *
 * Certificates' `expires_on` comes from their PEM (or as seeded) and never depends on the clock.
 */

let offsetMs = 0

/** The emulator's "now", in ms since the epoch. */
export function emulatorNow(): number {
  return Date.now() + offsetMs
}

/** Sets the clock to `nowMs`, or moves it by `advanceMs`; answers the new "now". */
export function setClock(change: { nowMs?: number; advanceMs?: number }): number {
  if (change.nowMs !== undefined) offsetMs = change.nowMs - Date.now()
  if (change.advanceMs !== undefined) offsetMs += change.advanceMs
  return emulatorNow()
}

export function resetClock(): void {
  offsetMs = 0
}
