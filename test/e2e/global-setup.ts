/**
 * Starts the emulator and the gateway once for the e2e project, through the module `npm start`
 * uses (scripts/dev-servers.mjs), on ports the OS says are free (HTTP and inspector for each),
 * with a state folder per Worker under a fresh temp directory. They are always stopped: by the
 * teardown vitest runs after the last file whatever the results; should vitest exit first, by the
 * exit handler dev-servers.mjs installs; on a signal (even mid-start), by the handler here. The
 * last two kill both process groups at once.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { freePorts, startDevServers, type DevServers } from '../../scripts/dev-servers.mjs'
import type { E2eContext } from './support/context'

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2eContext
  }
}

const STARTUP_TIMEOUT_MS = Number(process.env.E2E_STARTUP_TIMEOUT_MS ?? 90_000)

export default async function setup(project: TestProject) {
  const workDir = mkdtempSync(path.join(tmpdir(), 'mtls-e2e-'))
  // Everything both `wrangler dev` print, for the post-mortem of a failed run.
  const logFile = path.join(workDir, 'servers.log')
  const log = createWriteStream(logFile)
  const [gatewayPort, emulatorPort, gatewayInspectorPort, emulatorInspectorPort] = (await freePorts(
    4,
  )) as [number, number, number, number]

  // A signal does not run exit handlers: on one, both groups are killed at once, even mid-start.
  const starting = new AbortController()
  let servers: DevServers | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    starting.abort()
    servers?.killNow()
    // Only ours left: do what Node would have done without a listener.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const started = Date.now()
  try {
    servers = await startDevServers({
      gatewayPort,
      emulatorPort,
      gatewayInspectorPort,
      emulatorInspectorPort,
      gatewayStateDir: path.join(workDir, 'state/gateway'),
      emulatorStateDir: path.join(workDir, 'state/emulator'),
      envFile: path.join(workDir, 'gateway.env'),
      // Nobody else's `wrangler dev` sees these Workers in its dev registry, nor they its.
      env: { WRANGLER_REGISTRY_PATH: path.join(workDir, 'registry') },
      onLine: (worker, line) => log.write(`[${worker}] ${line}\n`),
      readyTimeoutMs: STARTUP_TIMEOUT_MS,
      signal: starting.signal,
    })
  } catch (error) {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await new Promise((resolve) => log.end(resolve))
    console.error(`e2e: servers did not start; their output:\n${readFileSync(logFile, 'utf8')}`)
    rmSync(workDir, { recursive: true, force: true })
    throw error
  }
  const running = servers

  const context: E2eContext = {
    gatewayUrl: running.gatewayUrl,
    emulatorUrl: running.emulatorUrl,
    ports: { gatewayPort, emulatorPort, gatewayInspectorPort, emulatorInspectorPort },
    pids: running.pids,
    workDir,
    startupMs: Date.now() - started,
  }
  project.provide('e2e', context)

  return async function teardown() {
    await running.stop()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await new Promise((resolve) => log.end(resolve))
    // After a failure the servers' side of the story is printed and kept, as on E2E_KEEP=1.
    const failed = project.vitest.state.getCountOfFailedTests() > 0
    if (failed) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-150).join('\n')
      console.error(`e2e: last lines of the servers' output (all of it in ${logFile}):\n${tail}`)
    }
    if (failed || process.env.E2E_KEEP) console.warn(`e2e: kept ${workDir}`)
    else rmSync(workDir, { recursive: true, force: true })
  }
}
