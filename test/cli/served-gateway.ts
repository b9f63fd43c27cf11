/**
 * The gateway served for the command-line tests: bundled from src/ (as wrangler bundles it) and run
 * by Miniflare on a loopback port with a local AUDIT namespace and coordinator, so that
 * `npm run audit:verify -- --url` talks to the real verify API over HTTP, and the test can tamper
 * with the log the way someone with write access to the namespace could. Nothing here reaches an
 * upstream: the audit routes never call it.
 */
import { createHash } from 'node:crypto'
import path from 'node:path'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import {
  AUDIT_ED25519_PRIVATE_KEY,
  AUDIT_SIGNING_KEY,
  UPSTREAM_TOKEN,
  buildPolicy,
} from '../support/identities'

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex')

export interface ServedGateway {
  url: string
  /** The AUDIT namespace, as far as the tests use it. */
  audit: {
    list(options: { prefix: string }): Promise<{ keys: { name: string }[] }>
    delete(key: string): Promise<void>
  }
  stop(): Promise<void>
}

/** `vars`: more bindings, or some replaced (the policy CLI's tests serve one pinned). */
export async function serveGateway(vars: Record<string, string> = {}): Promise<ServedGateway> {
  // Inside the project, as the emulator's bundle (workerd refuses a module path that climbs out).
  const outfile = path.resolve('.build/cli-gateway.js')
  await build({
    entryPoints: [path.resolve('src/index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    target: 'es2022',
    logLevel: 'warning',
  })
  const mf = new Miniflare({
    modules: true,
    scriptPath: outfile,
    compatibilityDate: '2026-04-20',
    host: '127.0.0.1',
    port: 0,
    kvNamespaces: ['AUDIT', 'CONSOLE_SESSIONS'],
    durableObjects: { COORDINATOR: { className: 'Coordinator', useSQLite: true } },
    bindings: {
      CLOUDFLARE_API_TOKEN: UPSTREAM_TOKEN,
      POLICY: JSON.stringify(buildPolicy(sha256)),
      AUDIT_SIGNING_KEY,
      AUDIT_ED25519_PRIVATE_KEY,
      UPSTREAM_BASE_URL: 'http://127.0.0.1:9/client/v4',
      ...vars,
    },
  })
  const url = (await mf.ready).origin
  const audit = (await mf.getKVNamespace('AUDIT')) as unknown as ServedGateway['audit']
  return { url, audit, stop: () => mf.dispose() }
}
