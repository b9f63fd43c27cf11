/**
 * bench/REPORT.md from a run's figures: the machine, the main table (median ratios and added
 * latency per route and concurrency), the per-round figures it was taken from, CPU, KV operations,
 * the bundle and the audit queries, and how each was measured.
 */
import { median } from '../bundle.mjs'
import { hasServerErrors, type LoadResult } from './load'
import type { Target } from './routes'
import type { WorkerdFigures } from './workerd-benches'

export interface Sample {
  route: string
  connections: number
  round: number
  target: Target
  result: LoadResult
}

export interface CpuSplit {
  /** CPU of the target's workerd process, per request (process-cpu.ts). */
  processMs: number
  /** JavaScript and GC in the target's isolate, per request, as V8 samples it (cpu-profile.ts). */
  jsMs: number
}

export interface CpuFigure {
  route: string
  requests: number
  gateway: CpuSplit
  bare: CpuSplit
}

export interface BundleFigures {
  kib: number
  gzipKib: number
  evalWallMs: number
  evalCpuMs: number
  samples: number
}

export interface RunSettings {
  rounds: number
  seconds: number
  writes: number
  concurrency: number[]
  cpuRequests: number
  /** The emulator answers every request of the load rounds this much later (0: at once). */
  upstreamLatencyMs: number
}

export interface Machine {
  date: string
  commit: string
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  wrangler: string
  loadAverage: string
}

export interface Report {
  machine: Machine
  settings: RunSettings
  samples: Sample[]
  soak: SoakFigure[]
  cpu: CpuFigure[]
  bundle: BundleFigures
  workerd: WorkerdFigures
  minutes: number
}

interface Cell {
  ratio: number
  addedP50: number
  addedP99: number
  bareRps: number
  gatewayRps: number
  /** Non-2xx answers of both targets over the rounds, by status and code; connection errors. */
  answers: Record<string, number>
  /** A 5xx or a connection error in any run of the cell: its figures are not averaged. */
  invalid: boolean
}

/** One member's sustained load on one route (bench/run.ts `soak`): every answer counted. */
export interface SoakFigure {
  label: string
  connections: number
  seconds: number
  result: LoadResult
}

function addAnswers(into: Record<string, number>, result: LoadResult) {
  for (const [cell, n] of Object.entries(result.answers)) into[cell] = (into[cell] ?? 0) + n
  if (result.errors > 0) into['no answer'] = (into['no answer'] ?? 0) + result.errors
}

/** `429 18429 ×12, 500 – ×3`, or `none`. */
export function answersText(answers: Record<string, number>): string {
  const cells = Object.entries(answers).sort(([a], [b]) => a.localeCompare(b))
  return cells.length === 0 ? 'none' : cells.map(([cell, n]) => `${cell} ×${n}`).join(', ')
}

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–')
const ms = (value: number) =>
  Number.isFinite(value) ? `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)} ms` : '–'

/** Per route and concurrency: medians over the rounds of the paired (same round) comparisons. */
export function cells(samples: Sample[]): Map<string, Map<number, Cell>> {
  const pairs = new Map<string, Map<number, { gateway: LoadResult; bare: LoadResult }[]>>()
  for (const sample of samples) {
    if (sample.target !== 'gateway') continue
    const bare = samples.find(
      (s) =>
        s.target === 'bare' &&
        s.route === sample.route &&
        s.connections === sample.connections &&
        s.round === sample.round,
    )
    if (bare === undefined) continue
    const byConnections = pairs.get(sample.route) ?? new Map()
    pairs.set(sample.route, byConnections)
    const list = byConnections.get(sample.connections) ?? []
    byConnections.set(sample.connections, list)
    list.push({ gateway: sample.result, bare: bare.result })
  }
  const table = new Map<string, Map<number, Cell>>()
  for (const [route, byConnections] of pairs) {
    const row = new Map<number, Cell>()
    table.set(route, row)
    for (const [connections, list] of byConnections) {
      const answers: Record<string, number> = {}
      for (const pair of list) {
        addAnswers(answers, pair.gateway)
        addAnswers(answers, pair.bare)
      }
      const invalid = list.some((p) => hasServerErrors(p.gateway) || hasServerErrors(p.bare))
      const unless = (value: number) => (invalid ? NaN : value)
      row.set(connections, {
        ratio: unless(median(list.map((p) => p.gateway.rps / p.bare.rps))),
        addedP50: unless(median(list.map((p) => p.gateway.p50 - p.bare.p50))),
        addedP99: unless(median(list.map((p) => p.gateway.p99 - p.bare.p99))),
        bareRps: unless(median(list.map((p) => p.bare.rps))),
        gatewayRps: unless(median(list.map((p) => p.gateway.rps))),
        answers,
        invalid,
      })
    }
  }
  return table
}

/** The main table, also quoted by docs/performance.md: ratios, added p50 and added p99 per concurrency. */
export function mainTable(report: Report): string {
  const { concurrency } = report.settings
  const table = cells(report.samples)
  const header = [
    'route',
    ...concurrency.map((c) => `ratio c=${c}`),
    ...concurrency.map((c) => `added p50 c=${c}`),
    ...concurrency.map((c) => `added p99 c=${c}`),
  ]
  const ratio = (cell: Cell | undefined) => (cell?.invalid ? 'invalid' : fixed(cell?.ratio ?? NaN))
  const rows = [...table].map(([route, row]) => [
    route,
    ...concurrency.map((c) => ratio(row.get(c))),
    ...concurrency.map((c) => ms(row.get(c)?.addedP50 ?? NaN)),
    ...concurrency.map((c) => ms(row.get(c)?.addedP99 ?? NaN)),
  ])
  return markdownTable(header, rows)
}

function markdownTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n')
}

function absoluteTable(report: Report): string {
  const table = cells(report.samples)
  const rows: string[][] = []
  for (const [route, row] of table) {
    for (const [connections, cell] of row) {
      const runs = report.samples.filter((s) => s.route === route && s.connections === connections)
      const p50s = (target: Target) =>
        runs
          .filter((s) => s.target === target)
          .sort((a, b) => a.round - b.round)
          .map((s) => `${fixed(s.result.rps, 0)}/${fixed(s.result.p50, 1)}`)
          .join(', ')
      rows.push([
        route,
        String(connections),
        fixed(cell.bareRps, 0),
        fixed(cell.gatewayRps, 0),
        p50s('bare'),
        p50s('gateway'),
        `${cell.invalid ? '**invalid**: ' : ''}${answersText(cell.answers)}`,
      ])
    }
  }
  return markdownTable(
    [
      'route',
      'c',
      'bare req/s',
      'gateway req/s',
      'bare per round (req/s / p50 ms)',
      'gateway per round',
      'non-2xx (status code ×n, both targets)',
    ],
    rows,
  )
}

export function renderReport(report: Report): string {
  const { machine, settings, bundle, workerd } = report
  const cpuRows = report.cpu.map((c) => [
    c.route,
    fixed(c.gateway.processMs, 1),
    fixed(c.bare.processMs, 1),
    fixed(c.gateway.processMs - c.bare.processMs, 1),
    fixed(c.gateway.jsMs, 1),
    fixed(c.bare.jsMs, 1),
  ])
  const kvRows = workerd.kvOps.map((k) => [k.route, String(k.reads), String(k.writes), k.byBinding])
  const auditRows = workerd.auditQueries.map((q) => [
    q.query,
    String(q.returned),
    String(q.pages),
    String(q.list),
    String(q.get),
  ])
  return `# Benchmark report

Written by \`npm run bench\` (bench/run.ts); do not edit by hand. Run it again to refresh.

## Machine

| | |
| --- | --- |
| date | ${machine.date} |
| commit | \`${machine.commit}\` |
| CPU | ${machine.cpu}, ${machine.cores} cores (shared with other work while this ran) |
| memory | ${machine.memoryGiB} GiB |
| OS | ${machine.os} |
| Node.js | ${machine.node} |
| wrangler | ${machine.wrangler} (\`wrangler dev\`, local workerd) |
| load average at start | ${machine.loadAverage} |
| settings | ${settings.rounds} rounds, reads ${settings.seconds} s per run, writes ${settings.writes} requests per run, concurrency ${settings.concurrency.join(', ')}, CPU over ${settings.cpuRequests} requests per route${settings.upstreamLatencyMs > 0 ? `, upstream answering ${settings.upstreamLatencyMs} ms later` : ''} |
| duration | ${report.minutes.toFixed(1)} minutes |

## Gateway against a bare pass-through

Median over the rounds of gateway / bare throughput (1.00: as fast as a Worker that only swaps the
token), and of the latency the gateway adds to the bare Worker's at the median and the 99th
percentile, per route and number of concurrent clients (c):

${mainTable(report)}

Absolute figures (medians over the rounds; per round: requests per second / p50 in ms):

${absoluteTable(report)}

## One member under sustained load

One member (the admin) reading one certificate from c connections, as one client would: every
answer counted by status and code. A 5xx here is a failure of the gateway (before issue 17,
requests the runtime cancelled as hung: 500s at lease renewals). "spent" runs against a gateway
whose policy allows 200 upstream requests per 5 minutes. The reads are served from the account's
snapshot, which spends the budget only to refresh (from the gateway's reserve), so they stay 2xx;
without the snapshot the budget is used up within the first seconds and the rest must be the
gateway's own 429 / 18429. Never a 500.

${markdownTable(
  ['run', 'c', 'seconds', 'answers', '2xx', 'non-2xx (status code ×n)', 'verdict'],
  report.soak.map((s) => [
    s.label,
    String(s.connections),
    String(s.seconds),
    String(s.result.requests),
    String(s.result.requests - Object.values(s.result.answers).reduce((a, b) => a + b, 0)),
    answersText({
      ...s.result.answers,
      ...(s.result.errors ? { 'no answer': s.result.errors } : {}),
    }),
    hasServerErrors(s.result) ? '**fail: server errors**' : 'no 5xx',
  ]),
)}

## CPU per request

Milliseconds per request over ${settings.cpuRequests} sequential requests per route and target,
after a warm-up, on Workers started afresh for it. "process": the CPU time Linux counts for the target's workerd process
(10 ms ticks, so about ±${fixed(20 / settings.cpuRequests)} ms per request); the
gateway's includes miniflare's local KV and Durable Object simulation, which production does not
bill, and the difference to the bare Worker's cancels the dev proxy both have. "JS sampled": the
time V8's sampling profiler finds JavaScript or GC on the isolate's stack; its sample intervals
are wall-clock time, so it grows when the machine's other work preempts the Worker.

${markdownTable(['route', 'gateway process', 'bare process', 'gateway − bare', 'gateway JS sampled', 'bare JS sampled'], cpuRows)}

## KV operations per request

Counted inside workerd on the gateway's own code path (bench/kv-ops.bench.ts), \`waitUntil\` work
included; reads are get, getWithMetadata and list, writes put and delete:

${markdownTable(['route', 'reads', 'writes', 'per binding'], kvRows)}

## Bundle

| | |
| --- | --- |
| size (\`wrangler deploy --dry-run\`) | ${fixed(bundle.kib)} KiB |
| gzip | ${fixed(bundle.gzipKib)} KiB |
| evaluation, wall (median of ${bundle.samples} cold imports in Node) | ${fixed(bundle.evalWallMs, 1)} ms |
| evaluation, process CPU over the same span | ${fixed(bundle.evalCpuMs, 1)} ms |

## Audit queries over 10,000 entries

${markdownTable(['query', 'returned', 'pages', 'list()', 'get()'], auditRows)}

## How each figure is measured

- **Throughput and latency**: the emulator, the gateway (configured as \`npm start\` configures it,
  with the demo policy plus the bench's accounts) and the bare Worker (bench/bare/) each run under
  their own \`wrangler dev\` on free ports. autocannon loads one target at a time with c clients in a
  closed loop: reads for ${settings.seconds} s (the list of 1,000 for max(30, 2c) requests, so slow
  that a timed run would end with most requests in flight), writes for ${settings.writes} requests
  (each consumes a distinct certificate made beforehand). After each run the bench waits until the
  target answers a request of its own again, so the next run starts on an idle Worker. Each round runs every route and concurrency
  against both targets back to back, the first target alternating between rounds, so that the
  machine's other load falls on both. Latency is each response's time as autocannon measures it
  (sub-millisecond), throughput the responses over the time from the first request to the last
  answer. Under \`wrangler dev\` the local proxy in front of each Worker dominates: only the ratio
  and the added latency mean anything, never the absolute figures. Every non-2xx answer is counted
  by status and error code; a cell where any run met a 5xx or a connection error is **invalid**:
  it measures a failure, not the gateway's cost, so it is shown but not averaged, and the bench
  exits with status 1.
- **The baseline sends what the gateway sends**: the bare Worker forwards the method, path, query
  and body with the headers the gateway's upstream requests carry (the token, \`accept:
  application/json\`, the user agent, \`content-type\` with a body), never the client's. It once
  forwarded the client's \`Accept-Encoding\`, which the gateway drops, so the emulator compressed
  the baseline's answers only and the baseline lost up to 40 % on large lists: reports before
  that change overstate the gateway's list ratios.
- **Callers**: the admin reads (the seeded certificates have no owner, and only account-wide roles
  see those, so both targets answer the same bytes); alice (developer) uploads a leaf with its
  PKCS#8 key; bob (lead) deletes certificates alice uploaded through the gateway (the bare Worker
  deletes seeded ones). Lists read accounts seeded with 10, 100 and 1,000 certificates (with PEM
  and the fields the upstream computes) through the emulator's test controls.
- **CPU**: two views of the same sequential requests. The workerd process's user + system time
  from /proc (bench/harness/process-cpu.ts): all of it is CPU really spent, for the Worker and for
  the local runtime around it. And V8's sampling CPU profiler of the Worker's isolate, through the
  Chrome DevTools protocol on its \`wrangler dev\` inspector port, 100 µs interval
  (bench/harness/cpu-profile.ts): samples in JavaScript or GC count, idle and workerd's own C++
  do not. Under \`wrangler dev\` the coordinator Durable Object shares the gateway's isolate and
  process, so its work is included in both.
- **KV operations**: bench/kv-ops.bench.ts, inside workerd (vitest-pool-workers, the emulator as
  upstream), every KV binding wrapped in a counter, the third of three identical calls per route.
- **Bundle**: bench/bundle.mjs: the size wrangler prints for \`wrangler deploy --dry-run\`, and the
  median wall time of a cold \`import()\` of the built bundle in a fresh Node process (V8, as in
  workerd), with \`cloudflare:workers\` replaced by a stub class.
- **Audit queries**: bench/audit-query.bench.ts, inside workerd, KV calls counted per query.
`
}
