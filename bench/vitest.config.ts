/**
 * The part of `npm run bench` (bench/run.ts) that runs inside workerd, the way the gateway's tests
 * run (test/vitest.config.ts: the emulator as a second Worker, every plain `fetch` routed to it):
 * the audit query benchmark and the KV operations per route. Not part of `npm test`.
 */
import { createHash } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineProject } from 'vitest/config'
import { buildEmulator } from '../emulator/build.mjs'
import {
  AUDIT_ED25519_PRIVATE_KEY,
  AUDIT_SIGNING_KEY,
  EMULATOR_CONTROL_SECRET,
  UPSTREAM_BASE_URL,
  UPSTREAM_TOKEN,
  buildPolicy,
} from '../test/support/identities.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex')
const emulatorBundle = path.join(root, '.build/emulator.js')

export default defineProject({
  plugins: [
    cloudflareTest(async () => {
      await buildEmulator(emulatorBundle)
      return {
        main: path.join(root, 'src/index.ts'),
        wrangler: { configPath: path.join(root, 'wrangler.toml') },
        miniflare: {
          bindings: {
            CLOUDFLARE_API_TOKEN: UPSTREAM_TOKEN,
            POLICY: JSON.stringify(buildPolicy(sha256)),
            UPSTREAM_BASE_URL,
            AUDIT_SIGNING_KEY,
            AUDIT_ED25519_PRIVATE_KEY,
          },
          outboundService: 'mtls-emulator',
          serviceBindings: { EMULATOR: 'mtls-emulator' },
          workers: [
            {
              name: 'mtls-emulator',
              modules: true,
              scriptPath: emulatorBundle,
              compatibilityDate: '2026-04-20',
              bindings: { EMULATOR_API_TOKEN: UPSTREAM_TOKEN, EMULATOR_CONTROL_SECRET },
            },
          ],
        },
      }
    }),
  ],
  test: {
    name: 'bench',
    include: ['bench/**/*.bench.ts'],
    setupFiles: ['test/kit/setup.ts'],
    // One emulator serves both files.
    fileParallelism: false,
    root,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
})
