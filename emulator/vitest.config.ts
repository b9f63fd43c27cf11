/**
 * The emulator's own tests, run inside workerd. Two copies of the emulator are running:
 * - the source (`main`), which tests call through `exports.default.fetch()`;
 * - the esbuild bundle from `build.mjs`, as an auxiliary worker, reachable through the BUNDLED
 *   service binding and as the target of every plain `fetch()` (`outboundService`). That is how the
 *   gateway's tests use it, so `bundle.test.ts` proves the bundle runs in workerd and shows what a
 *   caller observes for the `drop` and `reset` faults.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineProject } from 'vitest/config'
import { hideExpectedWorkerdRecords } from '../test/kit/workerd-output.ts'
import { buildEmulator } from './build.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
// Next to the gateway tests' copy (.build/emulator.js) in the repository's ignored build folder.
const bundle = path.join(here, '../.build/emulator-selftest.mjs')

// The drop and reset faults make workerd report uncaught exceptions on purpose (see the kit).
hideExpectedWorkerdRecords()

export default defineProject({
  plugins: [
    cloudflareTest(async () => {
      await buildEmulator(bundle)
      return {
        main: path.join(here, 'src/index.ts'),
        wrangler: { configPath: path.join(here, 'wrangler.toml') },
        miniflare: {
          serviceBindings: { BUNDLED: 'emulator-bundle' },
          outboundService: 'emulator-bundle',
          workers: [
            {
              name: 'emulator-bundle',
              modules: true,
              scriptPath: bundle,
              compatibilityDate: '2026-04-20',
              bindings: {
                EMULATOR_API_TOKEN: 'emulator-upstream-token',
                EMULATOR_CONTROL_SECRET: 'emulator-control-secret',
              },
            },
          ],
        },
      }
    }),
  ],
  test: {
    name: 'emulator',
    root: here,
    include: ['test/**/*.test.ts'],
    setupFiles: ['../test/kit/setup.ts'],
    // State lives in module memory of one isolate; files reset it, so they run one at a time.
    fileParallelism: false,
  },
})
