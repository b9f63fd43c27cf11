/**
 * Verifies an NDJSON export offline, with the signing key and nothing else (no KV, no gateway):
 * each line's `_kv` metadata must carry a valid seal and signature for its key, and the readable
 * entry on the line must be exactly what that signed metadata says (so an edit to either shows),
 * and the export must end with its end marker (so a cut-off export shows).
 * What an export cannot show: the KV values (only their signed hashes travel) and the index keys;
 * the gateway's verify API checks those. Used by scripts/audit-verify.ts; pure, so tests run it.
 */
import { expand, type Summary } from './entry'
import { canonical, judge } from './signing'

export interface ExportProblem {
  line: number
  kind: 'unsigned' | 'forged' | 'altered' | 'unreadable' | 'incomplete'
  key?: string
  detail: string
}

export interface ExportReport {
  checked: number
  problems: ExportProblem[]
  pending: string[]
  /** Set when the export stopped early; continue the export with this cursor. */
  nextCursor?: string
}

export async function verifyExport(ndjson: string, signingKey: string): Promise<ExportReport> {
  const report: ExportReport = { checked: 0, problems: [], pending: [] }
  const lines = ndjson.split('\n')
  // The line that ended the export: a complete marker (with its count) or a truncated one.
  let end: { line: number; count?: number } | undefined
  for (const [index, text] of lines.entries()) {
    if (text.trim() === '') continue
    const line = index + 1
    if (end !== undefined) {
      report.problems.push({
        line,
        kind: 'unreadable',
        detail: 'a line after the end of the export',
      })
      continue
    }
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(text) as Record<string, unknown>
    } catch {
      report.problems.push({ line, kind: 'unreadable', detail: 'not JSON' })
      continue
    }
    if (parsed.truncated === true && typeof parsed.next_cursor === 'string') {
      report.nextCursor = parsed.next_cursor
      end = { line }
      continue
    }
    if (parsed.complete === true && typeof parsed.count === 'number') {
      end = { line, count: parsed.count }
      continue
    }
    report.checked++
    const { _kv: kv, ...entry } = parsed as { _kv?: { key?: unknown; metadata?: unknown } }
    if (typeof kv?.key !== 'string' || typeof kv.metadata !== 'object' || kv.metadata === null) {
      report.problems.push({ line, kind: 'unsigned', detail: 'no _kv key and metadata' })
      continue
    }
    const key = kv.key
    const metadata = kv.metadata as Record<string, unknown>
    const state = await judge(signingKey, key, metadata)
    if (state !== 'valid') {
      report.problems.push({ line, kind: state, key, detail: `signature check: ${state}` })
      continue
    }
    if (canonical(entry) !== canonical(expand(metadata as unknown as Summary))) {
      report.problems.push({
        line,
        kind: 'altered',
        key,
        detail: 'the entry differs from its signed metadata',
      })
      continue
    }
    if (metadata.o === 'pending') report.pending.push(key)
  }
  if (end === undefined) {
    report.problems.push({
      line: lines.length,
      kind: 'incomplete',
      detail: 'the export has no end marker: it was cut off',
    })
  } else if (end.count !== undefined && end.count !== report.checked) {
    report.problems.push({
      line: end.line,
      kind: 'incomplete',
      detail: `the export says ${end.count} entries, ${report.checked} are here`,
    })
  }
  return report
}
