/**
 * An NDJSON export's end marker (export.ts writes it, verify-export.ts checks it offline): what
 * the export covered and what it holds, signed with the gateway's Ed25519 key (ed25519.ts). Pure,
 * so the offline verifier shares the exact text that is signed.
 */
import { canonical } from './signing'

/** What an NDJSON export's marker says, before it is signed (version 2). */
export interface ExportMarker {
  export: 2
  complete: boolean
  count: number
  /** First and last sequence number of each chain in the export (entries that have one). */
  chains: Record<string, [number, number]>
  /** The time range the export was asked for, inclusive, RFC 3339. */
  range: { from: string; to: string }
  /** The query's filters; none means every entry of the range is in the export. */
  filters: Record<string, string>
  limit: number
  /** Set when the export continued an earlier one: it covers the range after that cursor only. */
  from_cursor?: string
  digest: string
  next_cursor?: string
  /** When the marker was signed. */
  at: string
  /** The public key that checks `sig`. */
  kid: string
}

/** Its own label, so that a marker cannot pass for a checkpoint or the other way round. */
export const markerText = (unsigned: ExportMarker) =>
  `mtls-gateway-audit-export/v2\n${canonical(unsigned)}`
