// @ts-check
/**
 * The gateway's bundle: its size as `wrangler deploy --dry-run` reports it (what Cloudflare
 * receives, and what the free plan's 3 MiB gzip limit counts), and how long it takes to evaluate.
 *
 * Evaluation is measured in Node, as a stand-in for workerd's V8: a fresh `node` process per
 * sample imports the built bundle and times the `import()` (parse, compile and run the top level:
 * what every cold isolate pays before its first request). The bundle's one platform import,
 * `cloudflare:workers` (the Durable Object base class), is replaced by an empty class; nothing
 * else is changed. The median of the samples is reported, wall time and the process's CPU time
 * over the same span (CPU includes V8's background compile threads, so it can exceed wall time).
 *
 * Alone: `node bench/bundle.mjs [samples]` prints the figures as JSON.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const run = promisify(execFile)

const PLATFORM_STUB =
  'data:text/javascript,export class DurableObject{constructor(ctx,env){this.ctx=ctx;this.env=env}};export class WorkerEntrypoint{}'

// Runs in the child: one cold import, timed.
const SAMPLE = `
const started = performance.now()
const cpu = process.cpuUsage()
await import(process.argv[1])
const used = process.cpuUsage(cpu)
console.log(JSON.stringify({ wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 }))
`

/**
 * @param {number[]} values
 * @returns {number}
 */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const at = (/** @type {number} */ i) => sorted[i] ?? NaN
  return sorted.length % 2 ? at(middle) : (at(middle - 1) + at(middle)) / 2
}

/**
 * @typedef {object} BundleFigures
 * @property {number} kib What wrangler prints as "Total Upload".
 * @property {number} gzipKib What wrangler prints after "gzip:".
 * @property {number} evalWallMs Median wall time of a cold `import()` in Node.
 * @property {number} evalCpuMs Median CPU time over the same span.
 * @property {number} samples
 */

/**
 * @param {{ samples?: number, config?: string }} [options]
 * @returns {Promise<BundleFigures>}
 */
export async function measureBundle({ samples = 7, config = 'wrangler.toml' } = {}) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'mtls-gateway-bundle-'))
  try {
    const { stdout } = await run(
      path.join(ROOT, 'node_modules/.bin/wrangler'),
      ['deploy', '--dry-run', '-c', config, '--outdir', outdir],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0' } },
    )
    const size = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout)
    if (size === null) throw new Error(`no "Total Upload" line in wrangler's output:\n${stdout}`)
    const bundle = readFileSync(path.join(outdir, 'index.js'), 'utf8')
    const importsPlatform = /from\s*"cloudflare:workers"/g
    const runnable = path.join(outdir, 'runnable.mjs')
    writeFileSync(runnable, bundle.replace(importsPlatform, `from"${PLATFORM_STUB}"`))
    /** @type {{ wallMs: number, cpuMs: number }[]} */
    const timings = []
    for (let i = 0; i < samples; i++) {
      const child = await run(process.execPath, [
        '--input-type=module',
        '-e',
        SAMPLE,
        pathToFileURL(runnable).href,
      ])
      timings.push(JSON.parse(child.stdout.trim()))
    }
    return {
      kib: Number(size[1]),
      gzipKib: Number(size[2]),
      evalWallMs: median(timings.map((t) => t.wallMs)),
      evalCpuMs: median(timings.map((t) => t.cpuMs)),
      samples,
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const samples = Number(process.argv[2] ?? 7)
  console.log(JSON.stringify(await measureBundle({ samples }), null, 2))
}
