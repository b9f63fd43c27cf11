/**
 * The three Workers of a bench run under `wrangler dev`, on free ports (inspector ports too), each
 * persisting into its own folder under one temporary directory: the emulator, the gateway
 * (configured as `npm start` configures it, with the bench's policy) and the bare pass-through,
 * which gets the same token and upstream.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  EMULATOR_TOKEN,
  freePorts,
  startDevServers,
  startWorker,
} from '../../scripts/dev-servers.mjs'
import { writeBenchPolicy } from './fixtures'

export interface BenchServers {
  gatewayUrl: string
  bareUrl: string
  emulatorUrl: string
  gatewayInspectorPort: number
  bareInspectorPort: number
  /** The process groups of the gateway's and the bare Worker's `wrangler dev`. */
  gatewayGroup: number
  bareGroup: number
  /** The Workers' last output lines (printed by `stop` after a failure). */
  tail(lines?: number): string
  stop(): Promise<void>
}

/**
 * A free port can still be taken by someone else before wrangler binds it (this machine runs other
 * `wrangler dev`s): a start that fails is tried again on new ports.
 */
export async function startBenchServers(
  log: (line: string) => void,
  /** The gateway's budget per 5 minutes (fixtures.ts `writeBenchPolicy`). */
  upstreamRequests?: number,
): Promise<BenchServers> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(log, upstreamRequests)
    } catch (error) {
      if (attempt === 3) throw error
      log(`start failed (${String(error)}), again on other ports`)
    }
  }
}

async function startOnFreePorts(
  log: (line: string) => void,
  upstreamRequests: number | undefined,
): Promise<BenchServers> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mtls-gateway-bench-'))
  const [
    gatewayPort,
    emulatorPort,
    gatewayInspectorPort,
    emulatorInspectorPort,
    barePort,
    bareInspectorPort,
  ] = (await freePorts(6)) as [number, number, number, number, number, number]
  const policyFile = path.join(dir, 'policy.json')
  writeBenchPolicy(policyFile, upstreamRequests)
  const output: string[] = []
  const onLine = (worker: string, line: string) => output.push(`[${worker}] ${line}`)
  const pair = await startDevServers({
    gatewayPort,
    emulatorPort,
    gatewayInspectorPort,
    emulatorInspectorPort,
    gatewayStateDir: path.join(dir, 'gateway'),
    emulatorStateDir: path.join(dir, 'emulator'),
    envFile: path.join(dir, 'gateway.env'),
    policyFile,
    onLine,
    readyTimeoutMs: 120_000,
  }).catch((error) => {
    log(output.join('\n'))
    throw error
  })
  const bareEnv = path.join(dir, 'bare.env')
  writeFileSync(
    bareEnv,
    `CLOUDFLARE_API_TOKEN=${EMULATOR_TOKEN}\nUPSTREAM_BASE_URL=${pair.emulatorUrl}/client/v4\n`,
  )
  const bare = await startWorker({
    name: 'bare',
    config: 'bench/bare/wrangler.toml',
    port: barePort,
    inspectorPort: bareInspectorPort,
    stateDir: path.join(dir, 'bare'),
    envFile: bareEnv,
    readyPath: '/client/v4/accounts/00000000000000000000000000000000/mtls_certificates',
    onLine,
    readyTimeoutMs: 120_000,
  }).catch(async (error) => {
    log(output.join('\n'))
    await pair.stop()
    throw error
  })
  return {
    gatewayUrl: pair.gatewayUrl,
    emulatorUrl: pair.emulatorUrl,
    bareUrl: bare.url,
    gatewayInspectorPort,
    bareInspectorPort,
    // startDevServers starts the emulator first, then the gateway.
    gatewayGroup: pair.pids[1] as number,
    bareGroup: bare.pid,
    tail: (lines = 40) => output.slice(-lines).join('\n'),
    async stop() {
      await Promise.all([bare.stop(), pair.stop()])
      if (process.env.BENCH_KEEP) log(`kept ${dir}:\n${output.slice(-50).join('\n')}`)
      else rmSync(dir, { recursive: true, force: true })
    },
  }
}
