import { defineConfig } from 'vitest/config'

// Four projects: the gateway (test/, inside workerd, the emulator as an auxiliary Worker), the
// emulator's own tests, the command-line tools (test/cli/, in Node), and the end-to-end suite
// (test/e2e/, in Node: both Workers under `wrangler dev`, driven by the real clients).
export default defineConfig({
  test: {
    projects: [
      './test/vitest.config.ts',
      './emulator/vitest.config.ts',
      './test/cli/vitest.config.ts',
      './test/e2e/vitest.config.ts',
    ],
  },
})
