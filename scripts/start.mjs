#!/usr/bin/env node
// `npm start`: the emulator (127.0.0.1:8788) and the gateway (127.0.0.1:8787) under `wrangler dev`,
// the gateway configured with the demo policy (demo/policy.json) and pointed at the emulator.
// Nothing here reaches Cloudflare: the gateway itself refuses the demo policy in front of it.
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const GATEWAY_PORT = Number(process.env.GATEWAY_PORT ?? 8787)
const EMULATOR_PORT = Number(process.env.EMULATOR_PORT ?? 8788)
const EMULATOR_TOKEN = 'emulator-upstream-token' // emulator/wrangler.toml's EMULATOR_API_TOKEN
const DEMO_AUDIT_SIGNING_KEY = 'demo-audit-signing-key-not-a-secret-0000'

const policy = JSON.stringify(JSON.parse(readFileSync(path.join(root, 'demo/policy.json'), 'utf8')))
mkdirSync(path.join(root, '.build'), { recursive: true })
const envFile = path.join(root, '.build/demo.env')
writeFileSync(
  envFile,
  [
    `CLOUDFLARE_API_TOKEN=${EMULATOR_TOKEN}`,
    `UPSTREAM_BASE_URL=http://127.0.0.1:${EMULATOR_PORT}/client/v4`,
    // A published demo key: entries signed with it prove nothing outside this demo.
    `AUDIT_SIGNING_KEY=${DEMO_AUDIT_SIGNING_KEY}`,
    `POLICY='${policy}'`,
    '',
  ].join('\n'),
)

const wrangler = path.join(root, 'node_modules/.bin/wrangler')
const children = []

function run(name, args) {
  const child = spawn(wrangler, args, {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  for (const stream of [child.stdout, child.stderr]) {
    let partial = ''
    stream.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) if (line.trim()) console.log(`[${name}] ${line}`)
    })
  }
  child.on('exit', (code) => {
    console.log(`[${name}] exited with ${code}`)
    shutdown(code ?? 1)
  })
  children.push(child)
}

let stopping = false
function shutdown(code) {
  if (stopping) return
  stopping = true
  for (const child of children) child.kill('SIGTERM')
  setTimeout(() => process.exit(code), 500)
}
process.on('SIGINT', () => shutdown(0))
process.on('SIGTERM', () => shutdown(0))

const common = [
  '--ip',
  '127.0.0.1',
  '--show-interactive-dev-session=false',
  '--persist-to',
  '.wrangler/state',
]
run('emulator', [
  'dev',
  '-c',
  'emulator/wrangler.toml',
  '--port',
  String(EMULATOR_PORT),
  '--inspector-port',
  '9230',
  ...common,
])
run('gateway', [
  'dev',
  '-c',
  'wrangler.toml',
  '--port',
  String(GATEWAY_PORT),
  '--inspector-port',
  '9229',
  '--env-file',
  envFile,
  ...common,
])

console.log(`
mtls-gateway (demo policy) on http://127.0.0.1:${GATEWAY_PORT}, emulator on http://127.0.0.1:${EMULATOR_PORT}
Try:  curl -s http://127.0.0.1:${GATEWAY_PORT}/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/mtls_certificates \\
        -H "Authorization: Bearer mtlsgw_DEMO_payments_alice_xxxxxxxxxxxxxxxxxxxxxxx"
`)
