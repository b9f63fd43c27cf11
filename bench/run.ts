/**
 * `npm run bench`: how much the gateway costs its callers, measured against a bare pass-through
 * Worker in the same run, and what it costs in CPU, KV operations and bundle; writes
 * bench/REPORT.md (bench/harness/report.ts says how each figure is measured).
 *
 * Bounded in time (about 10 minutes on 2 cores with the defaults). Settings, from the environment:
 *   BENCH_ROUNDS        interleaved rounds (default 3)
 *   BENCH_SECONDS       seconds per read run (default 3)
 *   BENCH_WRITES        requests per upload or delete run (default 200)
 *   BENCH_CONCURRENCY   clients, comma-separated (default 1,10,50)
 *   BENCH_CPU_REQUESTS  sequential requests per route and target for CPU (default 50)
 *   BENCH_SOAK_SECONDS  seconds per run of one member's sustained load (default 60; 0 skips it)
 *   BENCH_ROUTES        only routes whose name contains one of these, comma-separated
 *   BENCH_REPORT        where to write the report (default bench/REPORT.md)
 *   BENCH_KEEP=1        keep the Workers' state folder and print its path
 *   BENCH_POLL_SECONDS  seconds of 5 teams x 2 members polling list and get (issue 21: served reads
 *                       per upstream call; default 300; 0 skips it)
 *   BENCH_ONLY=poll     run only that scenario and print its section (trying it out)
 *   BENCH_UPSTREAM_LATENCY_MS  the emulator answers every request of the load rounds this much
 *                       later, for both targets (default 0: a local emulator answers in a few ms,
 *                       Cloudflare's API from further away)
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { format, resolveConfig } from 'prettier'
import { ROOT } from '../scripts/dev-servers.mjs'
import { measureBundle } from './bundle.mjs'
import { connectProfiler, type CpuProfiler } from './harness/cpu-profile'
import { groupCpuMs } from './harness/process-cpu'
import {
  ACCOUNTS,
  KEYS,
  clearRequestLog,
  delayUpstream,
  liftRateLimit,
  seedCertificates,
  setAssociations,
} from './harness/fixtures'
import { hasServerErrors, load, type LoadRequest } from './harness/load'
import {
  renderReport,
  type SoakFigure,
  type CpuFigure,
  type CpuSplit,
  type Machine,
  type RunSettings,
  type Sample,
} from './harness/report'
import {
  benchRoutes,
  uploadThroughGateway,
  type ReadTargets,
  type Route,
  type Target,
} from './harness/routes'
import { startBenchServers, type BenchServers } from './harness/servers'
import { poll, renderPoll, type PollFigure } from './harness/poll'
import { runWorkerdBenches } from './harness/workerd-benches'

const started = Date.now()
const log = (line: string) =>
  console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`)

function setting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}

const settings: RunSettings = {
  rounds: setting('BENCH_ROUNDS', 3),
  seconds: setting('BENCH_SECONDS', 3),
  writes: setting('BENCH_WRITES', 200),
  concurrency: (process.env.BENCH_CONCURRENCY ?? '1,10,50').split(',').map(Number),
  cpuRequests: setting('BENCH_CPU_REQUESTS', 50),
  upstreamLatencyMs: Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 0),
}
const soakSeconds = Number(process.env.BENCH_SOAK_SECONDS ?? 60)
const routeFilter = process.env.BENCH_ROUTES?.split(',').filter(Boolean)
const reportFile = path.resolve(ROOT, process.env.BENCH_REPORT ?? 'bench/REPORT.md')

function machine(): Machine {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT }).toString().trim()
  const wrangler = execFileSync(path.join(ROOT, 'node_modules/.bin/wrangler'), ['--version'], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  })
  return {
    date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    commit: `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain') ? ' (with uncommitted changes)' : ''}`,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    wrangler: wrangler.toString().trim().split('\n').pop() ?? 'unknown',
    loadAverage: os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(', '),
  }
}

/** Seeds the list accounts and what get and associations read. */
async function seed(servers: BenchServers): Promise<ReadTargets> {
  await liftRateLimit(servers.emulatorUrl)
  let unowned = ''
  for (const [size, account] of Object.entries(ACCOUNTS.list)) {
    const ids = await seedCertificates(servers.emulatorUrl, account, Number(size))
    if (Number(size) === 10) unowned = ids[0] ?? ''
  }
  const [owned] = await uploadThroughGateway(servers.gatewayUrl, ACCOUNTS.reads, 1)
  for (const id of [owned!, unowned]) await setAssociations(servers.emulatorUrl, id)
  return { owned: owned!, unowned }
}

async function runOnce(
  servers: BenchServers,
  route: Route,
  target: Target,
  origin: string,
  connections: number,
) {
  // The emulator keeps its limits in its isolate's memory: a restart under a long run's load
  // (seen after 20 minutes) brings back Cloudflare's 1,200 per 5 minutes, and with it 429s for
  // both targets. Lifted again before every run.
  await liftRateLimit(servers.emulatorUrl)
  // Writes get a few more fixtures than requests: each client may have prepared its next one.
  const count = route.kind === 'write' ? settings.writes + 2 * connections : 0
  const next = await route.prepare(target, count)
  // Held by the emulator's isolate like its limits: set again before every run, after the
  // fixtures are made (they need no latency).
  await delayUpstream(servers.emulatorUrl, settings.upstreamLatencyMs)
  const amount = route.kind === 'write' ? settings.writes : route.requests?.(connections)
  return load({
    origin,
    connections,
    next,
    ...(amount === undefined ? { duration: settings.seconds } : { amount }),
  })
}

/**
 * After a run, the target may still be working off requests the load sent before it stopped:
 * wait until it answers one of its own again, so the next run starts on an idle Worker.
 */
async function settle(servers: BenchServers, origin: string) {
  await new Promise((resolve) => setTimeout(resolve, 250))
  const probe = `${origin}/client/v4/accounts/${ACCOUNTS.list[10]}/mtls_certificates`
  for (let attempt = 0; attempt < 5; attempt++) {
    const answered = await fetch(probe, { headers: { authorization: `Bearer ${KEYS.admin}` } })
      .then(async (response) => (await response.arrayBuffer(), response.ok))
      .catch(() => false)
    if (answered) break
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  await clearRequestLog(servers.emulatorUrl)
}

async function rounds(servers: BenchServers, routes: Route[]): Promise<Sample[]> {
  const samples: Sample[] = []
  const origins: Record<Target, string> = { gateway: servers.gatewayUrl, bare: servers.bareUrl }
  for (let round = 1; round <= settings.rounds; round++) {
    // The first target alternates, so that neither always meets a machine warmed by the other.
    const order: Target[] = round % 2 ? ['bare', 'gateway'] : ['gateway', 'bare']
    for (const route of routes) {
      for (const connections of settings.concurrency) {
        for (const target of order) {
          const result = await runOnce(servers, route, target, origins[target], connections)
          await settle(servers, origins[target])
          await delayUpstream(servers.emulatorUrl, 0)
          samples.push({ route: route.name, connections, round, target, result })
          log(
            `round ${round} ${route.name} c=${connections} ${target}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms${result.failures ? `, ${result.failures} failed` : ''}`,
          )
        }
      }
    }
  }
  return samples
}

/** CPU per request of one target on one route: its process group's, and V8's sampled JS. */
async function cpuOf(
  profiler: CpuProfiler,
  group: number,
  origin: string,
  next: () => LoadRequest,
): Promise<CpuSplit> {
  const send = async () => {
    const { method, path: pathname, headers, body } = next()
    const response = await fetch(`${origin}${pathname}`, { method, headers, body })
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`${method} ${pathname}: ${response.status}`)
  }
  for (let i = 0; i < 3; i++) await send()
  const before = groupCpuMs(group)
  await profiler.start()
  for (let i = 0; i < settings.cpuRequests; i++) await send()
  const sampled = await profiler.stop()
  const processMs = groupCpuMs(group) - before
  return { processMs: processMs / settings.cpuRequests, jsMs: sampled / settings.cpuRequests }
}

async function cpu(servers: BenchServers, routes: Route[]): Promise<CpuFigure[]> {
  const profilers = {
    gateway: await connectProfiler(servers.gatewayInspectorPort),
    bare: await connectProfiler(servers.bareInspectorPort),
  }
  log('profilers connected')
  const origins: Record<Target, string> = { gateway: servers.gatewayUrl, bare: servers.bareUrl }
  const groups: Record<Target, number> = {
    gateway: servers.gatewayGroup,
    bare: servers.bareGroup,
  }
  const figures: CpuFigure[] = []
  try {
    for (const route of routes) {
      const split = {} as Record<Target, CpuSplit>
      for (const target of ['gateway', 'bare'] as const) {
        const next = await route.prepare(target, settings.cpuRequests + 3)
        split[target] = await cpuOf(profilers[target], groups[target], origins[target], next)
      }
      figures.push({ route: route.name, requests: settings.cpuRequests, ...split })
      log(
        `cpu ${route.name}: gateway ${split.gateway.processMs.toFixed(2)} ms (JS ${split.gateway.jsMs.toFixed(2)}), bare ${split.bare.processMs.toFixed(2)} ms (JS ${split.bare.jsMs.toFixed(2)})`,
      )
    }
  } finally {
    profilers.gateway.close()
    profilers.bare.close()
  }
  return figures
}

// Issue 21: served reads per upstream call, on its own fresh Workers.
const pollSeconds = Number(process.env.BENCH_POLL_SECONDS ?? 300)
async function pollRun(): Promise<PollFigure | null> {
  if (!(pollSeconds > 0)) return null
  const figure = await withServers((servers) => poll(servers, pollSeconds))
  log(
    `poll ${figure.seconds} s: ${figure.result.requests} reads, ${figure.result.failures} non-2xx, ${figure.upstream.total} upstream calls (${JSON.stringify(figure.upstream)})`,
  )
  return figure
}
if (process.env.BENCH_ONLY === 'poll') {
  const figure = await pollRun()
  if (figure !== null) console.log(renderPoll(figure))
  process.exit(0)
}

const host = machine()
log(`settings ${JSON.stringify(settings)}`)
const bundle = await measureBundle()
log(
  `bundle ${bundle.kib} KiB, ${bundle.gzipKib} KiB gzip, evaluation ${bundle.evalWallMs.toFixed(1)} ms`,
)
const workerd = await runWorkerdBenches(log)
log(`workerd benches: ${workerd.kvOps.length} routes, ${workerd.auditQueries.length} queries`)

/**
 * Fresh Workers, seeded, for `work`: the load rounds get one set, the CPU measurement another, so
 * that the CPU figures do not depend on what the rounds left in the gateway's isolate (its heap
 * grew to V8's 1.4 GB limit by the end of a full run's rounds: docs/performance.md).
 */
async function withServers<T>(
  work: (servers: BenchServers, routes: Route[], reads: ReadTargets) => Promise<T>,
  upstreamRequests?: number,
) {
  const servers = await startBenchServers(log, upstreamRequests)
  try {
    log(
      `servers: gateway ${servers.gatewayUrl}, bare ${servers.bareUrl}, emulator ${servers.emulatorUrl}`,
    )
    const reads = await seed(servers)
    const routes = benchRoutes(
      { gateway: servers.gatewayUrl, bare: servers.bareUrl, emulator: servers.emulatorUrl },
      reads,
    ).filter((route) => !routeFilter || routeFilter.some((part) => route.name.includes(part)))
    return await work(servers, routes, reads)
  } catch (error) {
    log(`failed; the Workers' last output:\n${servers.tail()}`)
    throw error
  } finally {
    await servers.stop()
  }
}

/**
 * One member (the admin) reading one certificate it owns from c connections for `soakSeconds`,
 * at each concurrency: the load under which requests once waited on each other's lease renewals
 * and the runtime cancelled them as hung (issue 17). `label` says whether the budget is spent.
 */
function soak(label: string) {
  return async (servers: BenchServers, _routes: Route[], reads: ReadTargets) => {
    const figures: SoakFigure[] = []
    const path = `/client/v4/accounts/${ACCOUNTS.reads}/mtls_certificates/${reads.owned}`
    for (const connections of [10, 50]) {
      const result = await load({
        origin: servers.gatewayUrl,
        connections,
        duration: soakSeconds,
        next: () => ({ method: 'GET', path, headers: { authorization: `Bearer ${KEYS.admin}` } }),
      })
      await settle(servers, servers.gatewayUrl)
      figures.push({ label, connections, seconds: soakSeconds, result })
      log(
        `soak ${label} c=${connections}: ${result.requests} answers, ${JSON.stringify(result.answers)}, ${result.errors} without answer`,
      )
    }
    return figures
  }
}

const samples: Sample[] = await withServers(rounds)
const cpuFigures: CpuFigure[] = await withServers(cpu)
const soakFigures: SoakFigure[] =
  soakSeconds > 0
    ? [
        ...(await withServers(soak('budget available'))),
        // 200 upstream requests per window: spent within the first seconds of the first run.
        ...(await withServers(soak('budget spent'), 200)),
      ]
    : []

const pollFigure = await pollRun()

const report = renderReport({
  machine: host,
  settings,
  samples,
  soak: soakFigures,
  cpu: cpuFigures,
  bundle,
  workerd,
  minutes: (Date.now() - started) / 60_000,
})
const style = (await resolveConfig(reportFile)) ?? {}
const markdown = pollFigure === null ? report : `${report}\n${renderPoll(pollFigure)}`
writeFileSync(reportFile, await format(markdown, { ...style, parser: 'markdown' }))
log(`wrote ${path.relative(ROOT, reportFile)}`)

// A cell or a soak run with a server error measured a failure, not the gateway: the run fails.
const failed = [...samples.map((s) => s.result), ...soakFigures.map((s) => s.result)].filter(
  hasServerErrors,
).length
if (failed > 0) {
  log(`${failed} runs met server errors or unanswered requests: see the report's invalid cells`)
  process.exitCode = 1
}
