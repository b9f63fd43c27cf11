/**
 * Verifies an NDJSON export offline, with the signing key and nothing else (no KV, no gateway):
 *   - each line's `_kv` metadata must carry a valid seal and signature for its key, and the
 *     readable entry on the line must be exactly what that signed metadata says (an edit to either
 *     shows);
 *   - the export must end with its signed marker (export.ts), whose count, per-chain sequence
 *     numbers and running digest must match the lines above it: a cut, shortened, extended or
 *     spliced export fails, and so does a marker that was edited;
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
import { checkpointProblem, type Checkpoint } from './checkpoint'
import { expand, type Summary } from './entry'
import { canonical, checkMarker, judge, nextLineDigest, type ExportMarker } from './signing'

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
}

interface Chained {
  line: number
  key: string
  seq: number
  prev: string
  entry: Record<string, unknown>
}

interface Marker extends ExportMarker {
  sig?: unknown
}

function isMarker(value: Record<string, unknown>): value is Record<string, unknown> & Marker {
  return typeof value.complete === 'boolean' && typeof value.digest === 'string'
}

export async function verifyExport(
  ndjson: string,
  signingKey: string,
  checkpoints: Checkpoint[] = [],
): Promise<ExportReport> {
  const report: ExportReport = { checked: 0, problems: [], pending: [], chains: {} }
  const lines = ndjson.split('\n')
  const chained = new Map<string, Chained[]>()
  let digest = ''
  let end: { line: number; marker: Marker } | undefined
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
    if (signed.chain !== undefined && signed.seq !== undefined) {
      const list = chained.get(signed.chain) ?? []
      list.push({ line, key, seq: signed.seq, prev: signed.prev ?? '', entry: signed })
      chained.set(signed.chain, list)
    }
  }

  const marker = await checkEnd(report, end, lines.length, signingKey, digest)
  const unfiltered = marker !== undefined && Object.keys(marker.filters ?? {}).length === 0
  // A checkpoint of a chain the export does not hold still has its signature checked.
  for (const checkpoint of checkpoints) {
    if (!chained.has(checkpoint.chain)) chained.set(checkpoint.chain, [])
  }
  for (const [chain, entries] of chained) {
    report.chains[chain] = await checkChain(report, chain, entries, unfiltered, {
      signingKey,
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
  signingKey: string,
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
  if (!(await checkMarker(signingKey, unsigned, sig))) {
    report.problems.push({
      line: end.line,
      kind: 'forged',
      detail: 'the end marker is not signed by the gateway, or was edited',
    })
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

async function checkChain(
  report: ExportReport,
  chain: string,
  entries: Chained[],
  unfiltered: boolean,
  against: { signingKey: string; checkpoints: Checkpoint[] },
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
    const problem = await checkpointProblem(against.signingKey, checkpoint, links)
    if (problem !== undefined) {
      intact = false
      report.problems.push({ line: 0, kind: 'checkpoint', detail: problem })
    }
  }
  return { first: entries[0]?.seq ?? 0, last: entries.at(-1)?.seq ?? 0, intact }
}
