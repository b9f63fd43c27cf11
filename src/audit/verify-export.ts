/**
 * Verifies an NDJSON export offline, with the signing key and nothing else (no KV, no gateway):
 * each line's `_kv` metadata must carry a valid seal and signature for its key, and the readable
 * entry on the line must be exactly what that signed metadata says (so an edit to either shows).
 * What an export cannot show: the KV values (only their signed hashes travel) and the index keys;
 * the gateway's verify API checks those. Used by scripts/audit-verify.ts; pure, so tests run it.
 */
import { expand, type Summary } from './entry'
import { canonical, judge } from './signing'

export interface ExportProblem {
  line: number
  kind: 'unsigned' | 'forged' | 'altered' | 'unreadable'
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
  for (const [index, text] of lines.entries()) {
    if (text.trim() === '') continue
    const line = index + 1
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(text) as Record<string, unknown>
    } catch {
      report.problems.push({ line, kind: 'unreadable', detail: 'not JSON' })
      continue
    }
    if (parsed.truncated === true && typeof parsed.next_cursor === 'string') {
      report.nextCursor = parsed.next_cursor
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
  return report
}
