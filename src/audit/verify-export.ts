/**
 * Verifies an NDJSON export offline, with the HMAC signing key (entries) and the gateway's public
 * key (marker and checkpoints), and nothing else (no KV, no gateway):
 *   - each line's `_kv` metadata must carry a valid seal and signature for its key, and the
 *     readable entry on the line must be exactly what that signed metadata says (an edit to either
 *     shows);
 *   - the export must end with its marker (export.ts), signed with the gateway's Ed25519 key, whose
 *     count, per-chain sequence numbers and running digest must match the lines above it: a cut,
 *     shortened, extended or spliced export fails, and so does a marker that was edited (its range
 *     or filters included);
 *   - every entry must lie in the marker's time range and match its filters, and the range asked
 *     for (`expected`) must lie within the marker's: an export of a day passed off as the week's,
 *     or a filtered one as the whole log, is told apart;
 *   - within each chain, consecutive numbers must link (audit/chain.ts): an entry edited before the
 *     export was made, or two entries swapped, break the link; and in an export made without
 *     filters, a number missing between the chain's first and last is an entry deleted from the
 *     log (or, at the very edges of the time range, one that falls just outside it);
 *   - checkpoints (checkpoint.ts), if given, must agree with the entries they name.
 * What an export cannot show: the KV values (only their signed hashes travel) and entries after
 * the export's last number; the gateway's verify API and checkpoints cover those.
 * Used by scripts/audit-verify.ts; pure, so tests run it.
 */
import { linkOf } from './chain'
import { checkpointProblem, type KeptCheckpoint } from './checkpoint'
import type { PublicKey } from './ed25519'
import { verifyText } from './ed25519'
import { expand, type Summary } from './entry'
import { markerText, type ExportMarker } from './marker'
import { matches, PAGE_VIEWS, type Filters } from './filters'
import { canonical, checkMarker, judge, nextLineDigest } from './signing'

export interface ExportProblem {
  line: number
  kind:
    | 'unsigned'
    | 'forged'
    | 'altered'
    | 'unreadable'
    | 'incomplete'
    | 'missing'
    | 'relinked'
    | 'checkpoint'
    | 'outside'
    | 'range'
  key?: string
  detail: string
}

export interface ExportReport {
  checked: number
  problems: ExportProblem[]
  pending: string[]
  /** Set when the export stopped early; continue the export with this cursor. */
  nextCursor?: string
  /** Per chain: the numbers the export holds, and whether its links all held. */
  chains: Record<string, { first: number; last: number; intact: boolean }>
  /** What the export says it covered, once its marker checked out (a version 1 marker: none). */
  covered?: Pick<ExportMarker, 'range' | 'filters' | 'limit' | 'from_cursor' | 'at' | 'kid'>
}

/** The keys an export is checked with: entries by HMAC, its marker and checkpoints by Ed25519. */
export interface ExportKeys {
  signingKey: string
  publicKey: PublicKey
}

/** The time range an auditor means to check: the export must cover it. */
export interface ExpectedRange {
  from?: string
  to?: string
}

interface Chained {
  line: number
  key: string
  seq: number
  prev: string
  entry: Record<string, unknown>
}

type Marker = Partial<ExportMarker> & {
  complete: boolean
  digest: string
  count?: number
  chains?: Record<string, [number, number]>
  filters?: Record<string, string>
  next_cursor?: string
  sig?: unknown
}

function isMarker(value: Record<string, unknown>): value is Record<string, unknown> & Marker {
  return typeof value.complete === 'boolean' && typeof value.digest === 'string'
}

export async function verifyExport(
  ndjson: string,
  keys: ExportKeys,
  checkpoints: KeptCheckpoint[] = [],
  expected: ExpectedRange = {},
): Promise<ExportReport> {
  const { signingKey } = keys
  const report: ExportReport = { checked: 0, problems: [], pending: [], chains: {} }
  const lines = ndjson.split('\n')
  const chained = new Map<string, Chained[]>()
  let digest = ''
  let end: { line: number; marker: Marker } | undefined
  const summaries: { line: number; key: string; summary: Summary }[] = []
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
    if (isMarker(parsed)) {
      end = { line, marker: parsed }
      continue
    }
    digest = await nextLineDigest(digest, text)
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
    const signed = expand(metadata as unknown as Summary)
    if (canonical(entry) !== canonical(signed)) {
      report.problems.push({
        line,
        kind: 'altered',
        key,
        detail: 'the entry differs from its signed metadata',
      })
      continue
    }
    if (metadata.o === 'pending') report.pending.push(key)
    summaries.push({ line, key, summary: metadata as unknown as Summary })
    if (signed.chain !== undefined && signed.seq !== undefined) {
      const list = chained.get(signed.chain) ?? []
      list.push({ line, key, seq: signed.seq, prev: signed.prev ?? '', entry: signed })
      chained.set(signed.chain, list)
    }
  }

  const marker = await checkEnd(report, end, lines.length, keys, digest)
  if (marker !== undefined) checkCovered(report, marker, summaries, expected)
  const unfiltered = marker !== undefined && Object.keys(marker.filters ?? {}).length === 0
  // A checkpoint of a chain the export does not hold still has its signature checked.
  for (const checkpoint of checkpoints) {
    if (!chained.has(checkpoint.chain)) chained.set(checkpoint.chain, [])
  }
  for (const [chain, entries] of chained) {
    report.chains[chain] = await checkChain(report, chain, entries, unfiltered, {
      keys,
      checkpoints,
    })
  }
  return report
}

/** The marker: present, signed, and saying what the lines above it are. */
async function checkEnd(
  report: ExportReport,
  end: { line: number; marker: Marker } | undefined,
  lineCount: number,
  keys: ExportKeys,
  digest: string,
): Promise<Marker | undefined> {
  if (end === undefined) {
    report.problems.push({
      line: lineCount,
      kind: 'incomplete',
      detail: 'the export has no end marker: it was cut off',
    })
    return undefined
  }
  const { sig, ...unsigned } = end.marker
  const problem = await markerProblem(keys, unsigned, sig)
  if (problem !== undefined) {
    report.problems.push({ line: end.line, kind: 'forged', detail: problem })
    return undefined
  }
  if (unsigned.count !== report.checked || unsigned.digest !== digest) {
    report.problems.push({
      line: end.line,
      kind: 'incomplete',
      detail: `the export was ${unsigned.count} entries, ${report.checked} are here, or they are not the same`,
    })
  }
  if (!unsigned.complete && typeof unsigned.next_cursor === 'string') {
    report.nextCursor = unsigned.next_cursor
  }
  return unsigned
}

/**
 * Why the marker is not the gateway's, or undefined. Version 2: Ed25519 under the pinned public
 * key. Before it (no `export` member): an HMAC under the entries' key, which anyone who checks it
 * could have made, and which names no range.
 */
async function markerProblem(
  keys: ExportKeys,
  unsigned: Omit<Marker, 'sig'>,
  sig: unknown,
): Promise<string | undefined> {
  if (unsigned.export === undefined) {
    return (await checkMarker(keys.signingKey, unsigned, sig))
      ? undefined
      : 'the end marker is not signed by the gateway, or was edited'
  }
  if (unsigned.kid !== keys.publicKey.kid) {
    return `the end marker names key ${String(unsigned.kid)}, not the pinned ${keys.publicKey.kid}`
  }
  return (await verifyText(keys.publicKey, markerText(unsigned as ExportMarker), sig))
    ? undefined
    : 'the end marker is not signed by the gateway, or was edited (its range or filters included)'
}

/** Every entry inside what the marker says the export covered, and that inside what was asked. */
function checkCovered(
  report: ExportReport,
  marker: Marker,
  summaries: { line: number; key: string; summary: Summary }[],
  expected: ExpectedRange,
) {
  if (marker.range === undefined) {
    if (expected.from !== undefined || expected.to !== undefined) {
      report.problems.push({
        line: 0,
        kind: 'range',
        detail: 'the marker (version 1) does not say which time range the export covers',
      })
    }
    return
  }
  const { range, filters = {}, limit = 0, from_cursor: fromCursor, at = '', kid = '' } = marker
  report.covered = {
    range,
    filters,
    limit,
    at,
    kid,
    ...(fromCursor ? { from_cursor: fromCursor } : {}),
  }
  const from = Date.parse(range.from)
  const to = Date.parse(range.to)
  const wanted: Filters = {
    team: filters.team,
    member: filters.member,
    action: filters.action,
    decision: filters.decision as Filters['decision'],
    outcome: filters.outcome as Filters['outcome'],
    certificate: filters.certificate,
    requestId: filters.request_id,
    policyRevision: filters.policy_revision, // issue 20
    // Issue 22.
    certificateName: filters.certificate_name,
    certificateNamePrefix: filters.certificate_name_prefix,
    // Issue 22 (review-audit).
    changesOnly: filters.changes_only === 'true',
    pageViews: PAGE_VIEWS.find((views) => views === filters.page_views),
  }
  for (const { line, key, summary } of summaries) {
    if (!(summary.t >= from && summary.t <= to)) {
      report.problems.push({
        line,
        kind: 'outside',
        key,
        detail: `the entry of ${new Date(summary.t).toISOString()} is outside the export's range ${range.from}..${range.to}`,
      })
    } else if (!matches(summary, wanted)) {
      report.problems.push({
        line,
        kind: 'outside',
        key,
        detail: `the entry does not match the export's filters ${canonical(filters)}`,
      })
    }
  }
  const asked = {
    from: expected.from === undefined ? undefined : Date.parse(expected.from),
    to: expected.to === undefined ? undefined : Date.parse(expected.to),
  }
  if (
    (asked.from !== undefined && asked.from < from) ||
    (asked.to !== undefined && asked.to > to)
  ) {
    report.problems.push({
      line: 0,
      kind: 'range',
      detail: `the export covers ${range.from}..${range.to}, not all of ${expected.from ?? '…'}..${expected.to ?? '…'}`,
    })
  }
}

async function checkChain(
  report: ExportReport,
  chain: string,
  entries: Chained[],
  unfiltered: boolean,
  against: { keys: ExportKeys; checkpoints: KeptCheckpoint[] },
) {
  entries.sort((a, b) => a.seq - b.seq)
  let intact = true
  const links = new Map<number, string>()
  for (const [i, current] of entries.entries()) {
    const link = await linkOf(
      { chain, seq: current.seq, prev: current.prev },
      current.key,
      current.entry,
    )
    links.set(current.seq, link)
    const before = entries[i - 1]
    if (before === undefined) continue
    if (current.seq === before.seq + 1) {
      if (current.prev !== links.get(before.seq)) {
        intact = false
        report.problems.push({
          line: current.line,
          kind: 'relinked',
          key: current.key,
          detail: `${chain} #${current.seq} does not link to #${before.seq}: one of them was changed`,
        })
      }
    } else if (unfiltered) {
      intact = false
      report.problems.push({
        line: current.line,
        kind: 'missing',
        key: current.key,
        detail: `${chain} #${before.seq + 1}..#${current.seq - 1} missing from the log`,
      })
    }
  }
  for (const checkpoint of against.checkpoints.filter((c) => c.chain === chain)) {
    const problem = await checkpointProblem(against.keys, checkpoint, links)
    if (problem !== undefined) {
      intact = false
      report.problems.push({ line: 0, kind: 'checkpoint', detail: problem })
    }
  }
  return { first: entries[0]?.seq ?? 0, last: entries.at(-1)?.seq ?? 0, intact }
}
