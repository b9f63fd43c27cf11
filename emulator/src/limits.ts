/**
 * Owns: the emulator's adjustable limits and their defaults.
 *
 * Defaults follow the contract: 5 CA certificates per account (§4), 1200 requests per 300 s per
 * token and a 300 s block after going over (§5). Tests shrink them through
 * `PUT /__emulator/limits`; `/__emulator/reset` restores the defaults.
 */

export type Limits = {
  ca_certificates_per_account: number
  requests_per_window: number
  window_seconds: number
  block_seconds: number
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  ca_certificates_per_account: 5,
  requests_per_window: 1200,
  window_seconds: 300,
  block_seconds: 300,
})

let current: Limits = { ...DEFAULT_LIMITS }

export function getLimits(): Readonly<Limits> {
  return current
}

export function updateLimits(changes: Partial<Limits>): Readonly<Limits> {
  const defined = Object.entries(changes).filter(([, value]) => value !== undefined)
  current = { ...current, ...Object.fromEntries(defined) }
  return current
}

export function resetLimits(): void {
  current = { ...DEFAULT_LIMITS }
}
