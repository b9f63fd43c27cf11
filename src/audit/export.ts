/**
 * Exports of a query, streamed as they are listed (a `ReadableStream`, so an export of many
 * thousands of entries never sits in memory): NDJSON, one entry per line with its KV key and
 * signed metadata under `_kv` (so `npm run audit:verify -- --file` can check it offline), or CSV
 * with one column per field of the entry's schema, for spreadsheets. Exports are read from key
 * metadata, like queries, so the column of what the summary leaves out (`decision_reason`; see
 * entry.ts) stays empty there.
 *
 * CSV cells that a spreadsheet would run as a formula (a caller-chosen certificate name such as
 * `=HYPERLINK(...)`) are prefixed with an apostrophe. If the export's list() budget runs out before
 * the range does, the last line says so and carries the cursor to continue from.
 *
 * An NDJSON export ends with a signed marker: what the export covered (its time range, filters,
 * limit and the cursor it started from), how many entries it holds, the first and last sequence
 * number of each chain in it, the running digest of every line before it (signing.ts) and an
 * Ed25519 signature over all of that (ed25519.ts). A line removed, added, edited or moved, an
 * export cut short, two exports spliced, or a marker whose range or filters were edited no longer
 * match, and the public key that checks a marker cannot make one (verify-export.ts checks it
 * offline).
 */
import { z } from '@hono/zod-openapi'
import { auditEntrySchema, type AuditEntry } from './entry'
import { encodeCursor, entries, type Query } from './query'
import { keyIdOf, signText, type PrivateJwk } from './ed25519'
import { markerText, type ExportMarker } from './marker'
import { nextLineDigest } from './signing'
import type { Position } from './store'

export type ExportFormat = 'ndjson' | 'csv'

/** List() calls one export may spend: up to 800,000 listed keys, under KV's 1000 operations. */
const EXPORT_LIST_BUDGET = 800

/**
 * CSV columns are derived from the entry's schema (entry.ts), so that every recorded field is
 * exported: one column per leaf field, in the schema's field order, nested objects flattened
 * depth-first and named by their path joined with `_` (approval.requested_by is
 * `approval_requested_by`). A list is one cell, its items separated by spaces; a list of objects
 * gives one column per field, with the items in the same order in each (`adopted_certificate_id`,
 * `adopted_team`); a map is `key:value` pairs separated by spaces (`suppressed_error_codes`).
 * The names below are older than that rule and are kept, because reviewers' sheets use them.
 */
export const LEGACY_COLUMN_NAMES: Readonly<Record<string, string>> = {
  'decision.effect': 'decision',
  'decision.shadow.effect': 'shadow_decision',
  'decision.shadow.rule_ids': 'shadow_rule_ids',
  'outcome.class': 'outcome',
  'outcome.status': 'status',
  'outcome.error_codes': 'error_codes',
}

/** A leaf field of the schema: its path from the entry, and how to read it from its parent. */
interface Leaf {
  path: string[]
  read: (value: unknown) => unknown
}

const LEAF_TYPES = new Set(['string', 'number', 'boolean', 'enum', 'literal', 'record'])

function leaves(schema: z.ZodType, path: string[] = []): Leaf[] {
  const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, field]) =>
      leaves(field, [...path, key]).map((leaf) => ({
        ...leaf,
        read: (value: unknown) =>
          leaf.read(
            typeof value === 'object' && value !== null
              ? (value as Record<string, unknown>)[key]
              : undefined,
          ),
      })),
    )
  }
  if (inner instanceof z.ZodArray) {
    return leaves(inner.element as z.ZodType, path).map((leaf) => ({
      ...leaf,
      read: (value: unknown) => (Array.isArray(value) ? value.map(leaf.read) : undefined),
    }))
  }
  // A kind this walk does not know (nullable, default, union...) must not be exported as
  // "[object Object]": fail where the schema is loaded, which every test does.
  if (!LEAF_TYPES.has(inner.def.type)) {
    throw new Error(`audit CSV: cannot flatten the ${inner.def.type} at ${path.join('.')}`)
  }
  return [{ path, read: (value) => value }]
}

type Cell = string | number | boolean | undefined

function cellOf(value: unknown): Cell {
  if (value === undefined || value === null) return undefined
  if (Array.isArray(value)) return value.map((item) => cellOf(item) ?? '').join(' ')
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([key, item]) => `${key}:${String(item)}`)
      .join(' ')
  }
  return value as Cell
}

const COLUMNS = leaves(auditEntrySchema).map(({ path, read }) => ({
  name: LEGACY_COLUMN_NAMES[path.join('.')] ?? path.join('_'),
  read,
}))

export const CSV_COLUMNS: readonly string[] = COLUMNS.map((column) => column.name)
if (new Set(CSV_COLUMNS).size !== CSV_COLUMNS.length) {
  throw new Error(`audit CSV: two fields flatten to one column name: ${CSV_COLUMNS.join(',')}`)
}

function csvCell(value: Cell): string {
  if (value === undefined) return ''
  let text = String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvRow(entry: AuditEntry): string {
  return COLUMNS.map((column) => csvCell(cellOf(column.read(entry)))).join(',') + '\r\n'
}

/** What an export covered, as its caller asked for it (the marker names it, signed). */
export interface Covered {
  /** The cursor the export was asked to start from, as given. */
  cursor?: string
}

/** The query's filters as the marker records them (only those set). */
function filtersOf(query: Query): Record<string, string> {
  const { team, member, action, decision, outcome, certificate, requestId } = query
  const set = {
    ...{ team, member, action, decision, outcome, certificate, request_id: requestId },
    policy_revision: query.policyRevision,
    certificate_name: query.certificateName,
    certificate_name_prefix: query.certificateNamePrefix,
    // Issue 22 (review-audit).
    changes_only: query.changesOnly === true ? 'true' : undefined,
    page_views: query.pageViews,
  }
  return Object.fromEntries(
    Object.entries(set).filter((pair): pair is [string, string] => pair[1] !== undefined),
  )
}

export function exportStream(
  kv: KVNamespace,
  query: Query,
  format: ExportFormat,
  attestKey: PrivateJwk,
  covered: Covered = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const budget = { lists: EXPORT_LIST_BUDGET }
  const walk = entries(kv, query, budget)
  let written = 0
  let started = false
  let lastResume: Position | undefined
  let digest = ''
  const chains: Record<string, [number, number]> = {}
  const marker = async (rest: Position | undefined) => {
    const unsigned: ExportMarker = {
      export: 2,
      complete: rest === undefined,
      count: written,
      chains,
      range: {
        from: new Date(query.range.from).toISOString(),
        to: new Date(query.range.to).toISOString(),
      },
      filters: filtersOf(query),
      limit: query.limit,
      ...(covered.cursor !== undefined ? { from_cursor: covered.cursor } : {}),
      digest,
      ...(rest ? { next_cursor: encodeCursor(rest) } : {}),
      at: new Date().toISOString(),
      kid: await keyIdOf(attestKey.x),
    }
    const sig = await signText(attestKey, markerText(unsigned))
    return JSON.stringify({ ...unsigned, sig }) + '\n'
  }
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
        if (format === 'ndjson') {
          controller.enqueue(encoder.encode(await marker(rest)))
        } else {
          controller.enqueue(
            encoder.encode(
              rest
                ? `# truncated; continue with cursor=${encodeCursor(rest)}\r\n`
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
      if (format === 'csv') {
        controller.enqueue(encoder.encode(csvRow(entry)))
        return
      }
      const line = JSON.stringify({ ...entry, _kv: { key, metadata } })
      digest = await nextLineDigest(digest, line)
      if (entry.chain !== undefined && entry.seq !== undefined) {
        const [first, last] = chains[entry.chain] ?? [entry.seq, entry.seq]
        chains[entry.chain] = [Math.min(first, entry.seq), Math.max(last, entry.seq)]
      }
      controller.enqueue(encoder.encode(line + '\n'))
    },
    async cancel() {
      await walk.return(undefined)
    },
  })
}
