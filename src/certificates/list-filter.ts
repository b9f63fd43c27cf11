/**
 * The list filters the gateway applies itself: `ca` and `name`, which wrangler sends but the
 * upstream's spec does not define. Applying them here makes their meaning certain whatever the
 * upstream does with them, and keeps `result_info` counts equal to what is returned.
 */
import type { UpstreamEnvelope } from '../lib/envelope'

export interface ListFilter {
  ca?: boolean
  name?: string
}

export function applyListFilter(envelope: UpstreamEnvelope, filter: ListFilter): UpstreamEnvelope {
  if (filter.ca === undefined && filter.name === undefined) return envelope
  const all = Array.isArray(envelope.result) ? (envelope.result as Record<string, unknown>[]) : []
  const kept = all.filter(
    (cert) =>
      (filter.ca === undefined || cert.ca === filter.ca) &&
      (filter.name === undefined || cert.name === filter.name),
  )
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
