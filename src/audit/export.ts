/**
 * Exports of a query, streamed as they are listed (a `ReadableStream`, so an export of many
 * thousands of entries never sits in memory): NDJSON, one entry per line with its KV key and
 * signed metadata under `_kv` (so `npm run audit:verify -- --file` can check it offline), or CSV
 * with one fixed column per field, for spreadsheets.
 *
 * CSV cells that a spreadsheet would run as a formula (a caller-chosen certificate name such as
 * `=HYPERLINK(...)`) are prefixed with an apostrophe. If the export's list() budget runs out before
 * the range does, the last line says so and carries the cursor to continue from.
 */
import type { AuditEntry } from './entry'
import { encodeCursor, entries, type Query } from './query'
import type { Position } from './store'

export type ExportFormat = 'ndjson' | 'csv'

/** List() calls one export may spend: up to 800,000 listed keys, under KV's 1000 operations. */
export const EXPORT_LIST_BUDGET = 800

export const CSV_COLUMNS = [
  'time',
  'id',
  'kind',
  'request_id',
  'member',
  'team',
  'via',
  'action',
  'account_id',
  'certificate_id',
  'certificate_name',
  'fingerprint_sha256',
  'serial_number',
  'decision',
  'decision_rule_ids',
  'shadow_decision',
  'shadow_rule_ids',
  'approval_id',
  'approval_requested_by',
  'approval_approved_by',
  'outcome',
  'status',
  'error_codes',
  'latency_ms',
  'upstream_attempts',
  'suppressed_count',
  'truncated',
] as const

function csvCell(value: string | number | boolean | undefined): string {
  if (value === undefined) return ''
  let text = String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvRow(entry: AuditEntry): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | undefined> = {
    time: entry.time,
    id: entry.id,
    kind: entry.kind,
    request_id: entry.request_id,
    member: entry.member,
    team: entry.team,
    via: entry.via,
    action: entry.action,
    account_id: entry.account_id,
    certificate_id: entry.certificate_id,
    certificate_name: entry.certificate_name,
    fingerprint_sha256: entry.fingerprint_sha256,
    serial_number: entry.serial_number,
    decision: entry.decision?.effect,
    decision_rule_ids: entry.decision?.rule_ids.join(' '),
    shadow_decision: entry.decision?.shadow?.effect,
    shadow_rule_ids: entry.decision?.shadow?.rule_ids.join(' '),
    approval_id: entry.approval?.id,
    approval_requested_by: entry.approval?.requested_by,
    approval_approved_by: entry.approval?.approved_by,
    outcome: entry.outcome.class,
    status: entry.outcome.status,
    error_codes: entry.outcome.error_codes.join(' '),
    latency_ms: entry.latency_ms,
    upstream_attempts: entry.upstream_attempts,
    suppressed_count: entry.suppressed?.count,
    truncated: entry.truncated,
  }
  return CSV_COLUMNS.map((column) => csvCell(cells[column])).join(',') + '\r\n'
}

export function exportStream(
  kv: KVNamespace,
  query: Query,
  format: ExportFormat,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const budget = { lists: EXPORT_LIST_BUDGET }
  const walk = entries(kv, query, budget)
  let written = 0
  let started = false
  let lastResume: Position | undefined
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started && format === 'csv') {
        started = true
        controller.enqueue(encoder.encode(CSV_COLUMNS.join(',') + '\r\n'))
        return
      }
      const next = written < query.limit ? await walk.next() : undefined
      if (next === undefined || next.done) {
        // Stopped by the limit (continue after the last entry) or by the budget (where it stopped).
        const rest = next === undefined ? lastResume : next.value
        if (next === undefined) await walk.return(undefined)
        // Every export ends with a marker, so that one cut off in transit is told from a whole one.
        if (rest) {
          const cursor = encodeCursor(rest)
          controller.enqueue(
            encoder.encode(
              format === 'ndjson'
                ? JSON.stringify({ truncated: true, next_cursor: cursor }) + '\n'
                : `# truncated; continue with cursor=${cursor}\r\n`,
            ),
          )
        } else {
          controller.enqueue(
            encoder.encode(
              format === 'ndjson'
                ? JSON.stringify({ complete: true, count: written }) + '\n'
                : `# complete; ${written} entries\r\n`,
            ),
          )
        }
        controller.close()
        return
      }
      written++
      const { entry, key, metadata, resume } = next.value
      lastResume = resume
      controller.enqueue(
        encoder.encode(
          format === 'ndjson'
            ? JSON.stringify({ ...entry, _kv: { key, metadata } }) + '\n'
            : csvRow(entry),
        ),
      )
    },
    async cancel() {
      await walk.return(undefined)
    },
  })
}
