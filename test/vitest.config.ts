/**
 * The gateway's tests run inside workerd. The emulator runs beside it as a second Worker, built
 * from emulator/src; every plain `fetch` the gateway makes (its upstream calls) is routed to it by
 * `outboundService`, so the gateway's production code path is what is tested. Tests reach the
 * emulator's controls through the EMULATOR service binding.
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
} from './support/identities.ts'
import { hideExpectedWorkerdRecords } from './kit/workerd-output.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const emulatorBundle = path.join(root, '.build/emulator.js')
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex')

// The emulator's drop faults make workerd report uncaught exceptions on purpose (see the kit).
hideExpectedWorkerdRecords()

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
            AUDIT_SIGNING_KEY,
            AUDIT_ED25519_PRIVATE_KEY,
            POLICY: JSON.stringify(buildPolicy(sha256)),
            // Issue 20: most tests swap POLICY per request (`{ ...env, POLICY }`), which only the
            // pinned mode serves as is; the managed mode's tests set POLICY_MODE themselves.
            POLICY_MODE: 'pinned',
            UPSTREAM_BASE_URL,
            UPSTREAM_RETRY_BASE_MS: '20',
            UPSTREAM_TIMEOUT_MS: '3000',
            // The fuzz test's knobs (test/gateway/fuzz.security.test.ts), from the shell.
            FUZZ_RUNS: process.env.FUZZ_RUNS ?? '',
            FUZZ_SEED: process.env.FUZZ_SEED ?? '',
            FUZZ_SHRINK: process.env.FUZZ_SHRINK ?? '',
          },
          outboundService: 'mtls-emulator',
          serviceBindings: { EMULATOR: 'mtls-emulator' },
          workers: [
            {
              name: 'mtls-emulator',
              modules: true,
              scriptPath: emulatorBundle,
              compatibilityDate: '2026-04-20',
              bindings: {
                EMULATOR_API_TOKEN: UPSTREAM_TOKEN,
                EMULATOR_CONTROL_SECRET,
              },
            },
          ],
        },
      }
    }),
  ],
  test: {
    name: 'gateway',
    include: ['test/**/*.test.ts'],
    exclude: ['test/cli/**', 'test/e2e/**'],
    setupFiles: ['test/kit/setup.ts', 'test/setup.ts'],
    root,
    // One emulator serves every file and each test resets it, so files run one after another.
    fileParallelism: false,
  },
})
