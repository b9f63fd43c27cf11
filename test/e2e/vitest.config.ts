/**
 * The end-to-end suite, in Node: emulator and gateway under `wrangler dev` (started once by
 * global-setup.ts, as `npm start` starts them), driven by the real clients (the `cloudflare` SDK,
 * wrangler, curl, the README's snippets) as processes of their own.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export default defineProject({
  test: {
    name: 'e2e',
    root,
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/e2e/global-setup.ts'],
    // One emulator serves every file and tests reset it, so files run one after another.
    fileParallelism: false,
    // Each client process has its own, shorter limit (support/processes.ts); these catch the rest.
    testTimeout: 90_000,
    hookTimeout: 30_000,
  },
})
