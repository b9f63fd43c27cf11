// @ts-check
/**
 * Starts the emulator and the gateway under `wrangler dev`, the gateway configured with a policy
 * (the demo policy by default) and pointed at the emulator. `npm start` (scripts/start.mjs) and the
 * end-to-end suite (test/e2e/global-setup.ts) both start them through `startDevServers`, so the
 * suite tests what a developer runs.
 *
 * What it guarantees, because two copies (or a copy beside anyone else's `wrangler dev`) must not
 * clash: every port is the caller's choice (HTTP and inspector, per Worker), and each Worker
 * persists into its own folder (two Workers sharing one `--persist-to` folder once failed with
 * "SQLite database is locked"). Each `wrangler dev` runs in its own process group, and `stop()`
 * kills the whole group (wrangler's workerd children included), so nothing outlives its owner.
 *
 * It never reaches Cloudflare: the gateway refuses the demo policy in front of api.cloudflare.com.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** emulator/wrangler.toml's [vars]: dev defaults, not secrets. */
export const EMULATOR_TOKEN = 'emulator-upstream-token'
export const EMULATOR_CONTROL_SECRET = 'emulator-control-secret'
/** A published demo key: audit entries signed with it prove nothing outside a demo. */
const DEMO_AUDIT_SIGNING_KEY = 'demo-audit-signing-key-not-a-secret-0000'
/**
 * A published demo Ed25519 key (checkpoints, export markers): the gateway refuses it in front of
 * the real Cloudflare API (src/policy/demo.ts), as it refuses the demo policy.
 */
const DEMO_AUDIT_ED25519_PRIVATE_KEY = JSON.stringify({
  kty: 'OKP',
  crv: 'Ed25519',
  x: 'chOUKUGVwHrX6kdDtHVbyrehYu7Ayvvu55bH0jZEDLA',
  d: 'lHcMWu8vWTdI1-3szgTgJpqDy_OMuHwZ3b-KolPmsZc',
})

/**
 * Ports the OS says are free on loopback right now, all distinct (they are held open together
 * before any is released). Another process may still take one before wrangler binds it; the
 * window is a few milliseconds.
 * @param {number} count
 * @returns {Promise<number[]>}
 */
export async function freePorts(count) {
  /** @type {net.Server[]} */
  const servers = []
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer()
      servers.push(server)
      await new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => resolve(undefined))
      })
    }
    return servers.map((server) => /** @type {net.AddressInfo} */ (server.address()).port)
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  }
}

/**
 * `preferred` if nothing listens on it and it is not in `taken`, otherwise a port the OS picks.
 * @param {number} preferred
 * @param {number[]} taken Ports already given to something else.
 * @returns {Promise<number>}
 */
export async function portOr(preferred, taken = []) {
  const free =
    !taken.includes(preferred) &&
    (await new Promise((resolve) => {
      const server = net.createServer()
      server.once('error', () => resolve(false))
      server.listen(preferred, '127.0.0.1', () => server.close(() => resolve(true)))
    }))
  if (free) return preferred
  for (;;) {
    const [port] = /** @type {[number]} */ (await freePorts(1))
    if (!taken.includes(port)) return port
  }
}

/**
 * One `wrangler dev` in its own process group (so that a signal to the group reaches workerd too,
 * and a terminal's Ctrl-C goes to the owner, which stops it in order), persisting into `stateDir`,
 * each output line handed to `onLine`.
 * @param {{ worker: string, stateDir: string, args: string[], env?: Record<string, string>,
 *   onLine?: (worker: string, line: string) => void }} options
 */
function spawnWranglerDev({ worker, stateDir, args, env = {}, onLine = () => {} }) {
  mkdirSync(stateDir, { recursive: true })
  const child = spawn(
    path.join(ROOT, 'node_modules/.bin/wrangler'),
    [
      'dev',
      ...args,
      '--ip',
      '127.0.0.1',
      '--show-interactive-dev-session=false',
      '--persist-to',
      stateDir,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  )
  for (const stream of [child.stdout, child.stderr]) {
    let partial = ''
    stream?.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) if (line.trim()) onLine(worker, line)
    })
  }
  return child
}

/**
 * @param {import('node:child_process').ChildProcess} child
 * @param {NodeJS.Signals} signal
 */
function signalGroup(child, signal) {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * @typedef {object} DevServerOptions
 * @property {number} gatewayPort
 * @property {number} emulatorPort
 * @property {number} gatewayInspectorPort
 * @property {number} emulatorInspectorPort
 * @property {string} gatewayStateDir The gateway's `--persist-to` folder.
 * @property {string} emulatorStateDir The emulator's; never the gateway's.
 * @property {string} envFile Where the gateway's configuration (token, upstream, policy) is written.
 * @property {string} [policyFile] Defaults to demo/policy.json.
 * @property {Record<string, string>} [env] Extra environment for both `wrangler dev` processes.
 * @property {Record<string, string>} [vars] Extra variables for the gateway (its env file), e.g.
 *   ACCESS_TEAM_DOMAIN and ACCESS_AUD, or LIFECYCLE_CHANNELS (JSON); values without newlines or
 *   single quotes.
 * @property {(worker: string, line: string) => void} [onLine] Each output line of either process.
 * @property {number} [readyTimeoutMs] Both must answer within this time (default 60 s).
 * @property {AbortSignal} [signal] Aborting it while they start kills both at once (a Ctrl-C).
 */

/**
 * A value as the env file (dotenv) reads it back unchanged: plain, or in single quotes (taken
 * literally) when it holds what dotenv would otherwise read (quotes, `#`, spaces: JSON).
 * @param {string} value
 */
function envValue(value) {
  if (/[\n']/.test(value))
    throw new Error('an env file value cannot hold a newline or a single quote')
  return /^[\w.:/@+=-]*$/.test(value) ? value : `'${value}'`
}

/**
 * @typedef {object} DevServers
 * @property {string} gatewayUrl e.g. http://127.0.0.1:8787
 * @property {string} emulatorUrl e.g. http://127.0.0.1:8788
 * @property {DevServerOptions} options
 * @property {number[]} pids The process group ids (one per `wrangler dev`).
 * @property {Promise<{ worker: string, code: number | null, signal: string | null }>} exited
 *   Settles when either process exits by itself (not when `stop()` ends them).
 * @property {() => Promise<void>} stop Ends both process groups: SIGTERM, then SIGKILL.
 * @property {() => void} killNow Synchronous SIGKILL of both groups (what runs on process exit).
 */

/**
 * @param {DevServerOptions} options
 * @returns {Promise<DevServers>}
 */
export async function startDevServers(options) {
  const {
    gatewayPort,
    emulatorPort,
    gatewayInspectorPort,
    emulatorInspectorPort,
    gatewayStateDir,
    emulatorStateDir,
    envFile,
    policyFile = path.join(ROOT, 'demo/policy.json'),
    env = {},
    vars = {},
    onLine = () => {},
    readyTimeoutMs = 60_000,
    signal,
  } = options
  const ports = [gatewayPort, emulatorPort, gatewayInspectorPort, emulatorInspectorPort]
  if (new Set(ports).size !== ports.length)
    throw new Error(`ports must differ: ${ports.join(', ')}`)
  if (path.resolve(gatewayStateDir) === path.resolve(emulatorStateDir)) {
    throw new Error('the gateway and the emulator need a state folder each')
  }

  const policy = JSON.stringify(JSON.parse(readFileSync(policyFile, 'utf8')))
  mkdirSync(path.dirname(envFile), { recursive: true })
  writeFileSync(
    envFile,
    [
      `CLOUDFLARE_API_TOKEN=${EMULATOR_TOKEN}`,
      `UPSTREAM_BASE_URL=http://127.0.0.1:${emulatorPort}/client/v4`,
      `AUDIT_SIGNING_KEY=${DEMO_AUDIT_SIGNING_KEY}`,
      `AUDIT_ED25519_PRIVATE_KEY='${DEMO_AUDIT_ED25519_PRIVATE_KEY}'`,
      `POLICY='${policy}'`,
      ...Object.entries(vars).map(([name, value]) => `${name}=${envValue(value)}`),
      '',
    ].join('\n'),
  )

  /** @type {import('node:child_process').ChildProcess[]} */
  const children = []
  let stopping = false
  /** @type {(value: { worker: string, code: number | null, signal: string | null }) => void} */
  let settleExited = () => {}
  /** @type {Promise<{ worker: string, code: number | null, signal: string | null }>} */
  const exited = new Promise((resolve) => (settleExited = resolve))

  /**
   * @param {string} worker
   * @param {string} stateDir
   * @param {string[]} args
   */
  function run(worker, stateDir, args) {
    const child = spawnWranglerDev({ worker, stateDir, args, env, onLine })
    child.on('exit', (code, signal) => {
      if (!stopping) settleExited({ worker, code, signal })
    })
    children.push(child)
    return child
  }

  /** @param {NodeJS.Signals} signal */
  function signalGroups(signal) {
    for (const child of children) signalGroup(child, signal)
  }

  function killNow() {
    stopping = true
    signalGroups('SIGKILL')
    process.off('exit', killNow)
  }

  async function stop() {
    stopping = true
    signalGroups('SIGTERM')
    const gone = Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) resolve(undefined)
            else child.once('exit', () => resolve(undefined))
          }),
      ),
    )
    await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000).unref())])
    // Whatever is left of either group (a workerd that outlived its wrangler) goes now.
    killNow()
  }

  // Whatever way the owner exits (process.exit, an uncaught error), the Workers go with it; a
  // signal does not run exit handlers, so owners end on a signal through stop() or `signal`.
  process.on('exit', killNow)

  run('emulator', emulatorStateDir, [
    '-c',
    'emulator/wrangler.toml',
    '--port',
    String(emulatorPort),
    '--inspector-port',
    String(emulatorInspectorPort),
  ])
  run('gateway', gatewayStateDir, [
    '-c',
    'wrangler.toml',
    '--port',
    String(gatewayPort),
    '--inspector-port',
    String(gatewayInspectorPort),
    '--env-file',
    envFile,
    // `GET /__scheduled?cron=<a cron of wrangler.toml>` runs that schedule's job (the expiry watch,
    // the checkpoints) at once: local dev only, wrangler never deploys this route.
    '--test-scheduled',
  ])

  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`
  const emulatorUrl = `http://127.0.0.1:${emulatorPort}`
  const polling = new AbortController()
  /** @type {() => void} */
  let onAbort = () => {}
  try {
    await Promise.race([
      new Promise((_, reject) => {
        onAbort = () => {
          killNow()
          reject(new Error('start aborted'))
        }
        if (signal?.aborted) onAbort()
        signal?.addEventListener('abort', onAbort, { once: true })
      }),
      Promise.all([
        // Both answer with their own JSON only once the Worker itself runs, not just wrangler's proxy.
        waitForJson(
          `${emulatorUrl}/__emulator/limits`,
          { 'x-emulator-secret': EMULATOR_CONTROL_SECRET },
          polling.signal,
        ),
        waitForJson(`${gatewayUrl}/gateway/v1/whoami`, {}, polling.signal),
      ]),
      exited.then(({ worker, code, signal }) => {
        throw new Error(`wrangler dev (${worker}) exited with ${code ?? signal} while starting`)
      }),
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error(`emulator and gateway not ready within ${readyTimeoutMs} ms`)),
          readyTimeoutMs,
        ).unref(),
      ),
    ])
  } catch (error) {
    await stop()
    throw error
  } finally {
    polling.abort()
    signal?.removeEventListener('abort', onAbort)
  }
  return {
    gatewayUrl,
    emulatorUrl,
    options,
    pids: children.map((child) => /** @type {number} */ (child.pid)),
    exited,
    stop,
    killNow,
  }
}

/**
 * Polls until `url` answers with a JSON body (any status: the gateway's whoami answers 401).
 * @param {string} url
 * @param {Record<string, string>} headers
 * @param {AbortSignal} cancelled
 */
async function waitForJson(url, headers, cancelled) {
  while (!cancelled.aborted) {
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) })
      const type = response.headers.get('content-type') ?? ''
      await response.arrayBuffer()
      if (type.startsWith('application/json')) return
    } catch {
      // Not listening yet, or wrangler's proxy still waiting for the Worker.
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * @typedef {object} WorkerOptions
 * @property {string} name For `onLine` and error messages.
 * @property {string} config Its wrangler.toml, relative to the repository root.
 * @property {number} port
 * @property {number} inspectorPort
 * @property {string} stateDir Its own `--persist-to` folder.
 * @property {string} readyPath Answers JSON once the Worker runs (e.g. a path it forwards).
 * @property {string} [envFile] Passed as `--env-file`.
 * @property {(worker: string, line: string) => void} [onLine]
 * @property {number} [readyTimeoutMs] Default 60 s.
 */

/**
 * One more Worker under `wrangler dev` (the benchmark's bare pass-through), with the same
 * guarantees as `startDevServers`: ports chosen by the caller, its own state folder, its own
 * process group, ended by `stop()` or when the owner exits.
 * @param {WorkerOptions} options
 */
export async function startWorker(options) {
  const { name, config, port, inspectorPort, stateDir, readyPath, envFile } = options
  const { onLine = () => {}, readyTimeoutMs = 60_000 } = options
  const child = spawnWranglerDev({
    worker: name,
    stateDir,
    args: [
      '-c',
      config,
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      ...(envFile ? ['--env-file', envFile] : []),
    ],
    onLine,
  })
  const killNow = () => {
    signalGroup(child, 'SIGKILL')
    process.off('exit', killNow)
  }
  process.on('exit', killNow)
  const stop = async () => {
    signalGroup(child, 'SIGTERM')
    if (child.exitCode === null && child.signalCode === null) {
      await Promise.race([
        new Promise((resolve) => child.once('exit', resolve)),
        new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
      ])
    }
    killNow()
  }
  const url = `http://127.0.0.1:${port}`
  const polling = new AbortController()
  try {
    await Promise.race([
      waitForJson(`${url}${readyPath}`, {}, polling.signal),
      new Promise((_, reject) =>
        child.once('exit', (code, signal) =>
          reject(new Error(`wrangler dev (${name}) exited with ${code ?? signal} while starting`)),
        ),
      ),
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error(`${name} not ready within ${readyTimeoutMs} ms`)),
          readyTimeoutMs,
        ).unref(),
      ),
    ])
  } catch (error) {
    await stop()
    throw error
  } finally {
    polling.abort()
  }
  return { url, pid: /** @type {number} */ (child.pid), stop, killNow }
}
