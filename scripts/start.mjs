#!/usr/bin/env node
// @ts-check
// `npm start`: the emulator and the gateway under `wrangler dev` (scripts/dev-servers.mjs), the
// gateway configured with the demo policy (demo/policy.json) and pointed at the emulator.
// `npm start -- --policy <file>` runs it with your own policy instead (checked as policy:check
// checks it; the gateway refuses to serve with an invalid one).
//
// Ports (environment): GATEWAY_PORT (8787), EMULATOR_PORT (8788), GATEWAY_INSPECTOR_PORT and
// EMULATOR_INSPECTOR_PORT (9229 and 9230 when free, otherwise any free port: another `wrangler dev`
// on the machine usually holds 9229). State: <STATE_DIR>/<worker>-<port> (STATE_DIR defaults to
// .wrangler/state), one folder per Worker and per port: the two Workers never share a database, nor
// does a second copy on other ports with the first. The gateway's configuration is written to
// <STATE_DIR>/demo-<gateway port>.env.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ROOT, portOr, startDevServers } from './dev-servers.mjs'

/** @type {{ policy?: string, help?: boolean }} */
let options
try {
  options = parseArgs({
    options: { policy: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }).values
} catch (error) {
  console.error(`start: ${/** @type {Error} */ (error).message}`)
  console.error('usage: npm start [-- --policy <policy.json>] (--help for more)')
  process.exit(2)
}
if (options.help) {
  console.log(`usage: npm start [-- --policy <policy.json>]

Runs the gateway and the Cloudflare emulator under wrangler dev, the gateway with the demo policy
(demo/policy.json, managed: the coordinator keeps its revisions, changed by proposals) or the
policy file given (pinned: the file is the policy on every start).

Environment: GATEWAY_PORT (8787), EMULATOR_PORT (8788), GATEWAY_INSPECTOR_PORT and
EMULATOR_INSPECTOR_PORT (9229 and 9230 when free), STATE_DIR (.wrangler/state).`)
  process.exit(0)
}
const policyFile = options.policy === undefined ? undefined : path.resolve(options.policy)
if (policyFile !== undefined && !existsSync(policyFile)) {
  console.error(`start: --policy ${options.policy}: no such file`)
  process.exit(2)
}

/**
 * @param {string} name
 * @param {number} fallback
 */
function portFromEnv(name, fallback) {
  const value = process.env[name]
  if (value === undefined || value === '') return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`${name}=${value} is not a port (default ${fallback})`)
    process.exit(2)
  }
  return port
}

const gatewayPort = portFromEnv('GATEWAY_PORT', 8787) ?? 8787
const emulatorPort = portFromEnv('EMULATOR_PORT', 8788) ?? 8788
// Taken one after the other, so that a busy 9229 cannot make both fall back to the same free port.
const gatewayInspectorPort =
  portFromEnv('GATEWAY_INSPECTOR_PORT', 9229) ?? (await portOr(9229, [gatewayPort, emulatorPort]))
const emulatorInspectorPort =
  portFromEnv('EMULATOR_INSPECTOR_PORT', 9230) ??
  (await portOr(9230, [gatewayPort, emulatorPort, gatewayInspectorPort]))

// A port someone else holds would end in a stack trace from workerd: say which setting to change.
for (const [name, port] of /** @type {const} */ ([
  ['GATEWAY_PORT', gatewayPort],
  ['EMULATOR_PORT', emulatorPort],
  ['GATEWAY_INSPECTOR_PORT', gatewayInspectorPort],
  ['EMULATOR_INSPECTOR_PORT', emulatorInspectorPort],
])) {
  if ((await portOr(port)) !== port) {
    console.error(
      `start: port ${port} is in use; choose another with ${name}, e.g. ${name}=${port + 10} npm start`,
    )
    process.exit(1)
  }
}

const stateBase = path.resolve(ROOT, process.env.STATE_DIR || '.wrangler/state')
const stateDir = (/** @type {string} */ name) => path.join(stateBase, name)
/** @type {import('./dev-servers.mjs').DevServers | undefined} */
let servers
let stopping = false
// A Ctrl-C while they start ends the start (and them); afterwards it stops them in order.
const starting = new AbortController()
async function shutdown(/** @type {number} */ code) {
  if (stopping) return
  stopping = true
  starting.abort()
  await servers?.stop()
  process.exit(code)
}
process.on('SIGINT', () => void shutdown(0))
process.on('SIGTERM', () => void shutdown(0))

try {
  servers = await startDevServers({
    gatewayPort,
    emulatorPort,
    gatewayInspectorPort,
    emulatorInspectorPort,
    gatewayStateDir: stateDir(`gateway-${gatewayPort}`),
    emulatorStateDir: stateDir(`emulator-${emulatorPort}`),
    envFile: stateDir(`demo-${gatewayPort}.env`),
    // Your own file is pinned: it is the policy on every start (docs/operators.md, "Where the
    // policy lives"); the demo runs managed, so proposals and revisions can be tried on it.
    ...(policyFile === undefined ? {} : { policyFile, vars: { POLICY_MODE: 'pinned' } }),
    onLine: (worker, line) => console.log(`[${worker}] ${line}`),
    readyTimeoutMs: 120_000,
    signal: starting.signal,
  })
} catch (error) {
  if (!stopping) console.error(String(error))
  process.exit(stopping ? 0 : 1)
}
servers.exited.then(({ worker, code, signal }) => {
  console.log(`[${worker}] exited with ${code ?? signal}`)
  void shutdown(code || 1)
})

const running = policyFile === undefined ? 'demo policy' : path.relative(process.cwd(), policyFile)
console.log(`
mtls-gateway (${running}, ${policyFile === undefined ? 'managed' : 'pinned'}) on ${servers.gatewayUrl}, emulator on ${servers.emulatorUrl}
Inspectors: gateway 127.0.0.1:${gatewayInspectorPort}, emulator 127.0.0.1:${emulatorInspectorPort}`)
if (policyFile === undefined) {
  console.log(`Try:  curl -s ${servers.gatewayUrl}/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/mtls_certificates \\
        -H "Authorization: Bearer mtlsgw_DEMO_payments_alice_xxxxxxxxxxxxxxxxxxxxxxx"
`)
}
