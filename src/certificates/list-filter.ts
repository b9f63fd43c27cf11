/**
 * Shaping a list answer: the `ca` and `name` filters the gateway applies itself (wrangler sends
 * them, the upstream's spec does not define them), and `result_info` recounted so that its counts
 * always equal what is returned, whatever was filtered out (by these filters or by team scope).
 */
import type { Envelope } from '../upstream/port'

export interface ListFilter {
  ca?: boolean
  name?: string
}

export function matchesListFilter(
  cert: { ca?: unknown; name?: unknown },
  filter: ListFilter,
): boolean {
  return (
    (filter.ca === undefined || cert.ca === filter.ca) &&
    (filter.name === undefined || cert.name === filter.name)
  )
}

export function withListResult<T>(envelope: Envelope<T[]>, kept: T[]): Envelope<T[]> {
  return {
    ...envelope,
    result: kept,
    result_info: {
      ...envelope.result_info,
      count: kept.length,
      total_count: kept.length,
      page: 1,
      total_pages: 1,
    },
  }
}

/**
 * Issue 21: the upstream's `type` filter, applied to a list served from the snapshot as the
 * upstream applies it (the emulator compares `String(type)`).
 */
export function matchesTypes(cert: { type?: unknown }, types: readonly string[] | undefined) {
  return types === undefined || types.length === 0 || types.includes(String(cert.type))
}
