import { defineConfig } from 'vitest/config'

// Three projects: the gateway (test/, inside workerd, the emulator as an auxiliary Worker), the
// emulator's own tests, and the command-line tools (test/cli/, in Node).
export default defineConfig({
  test: {
    projects: [
      './test/vitest.config.ts',
      './emulator/vitest.config.ts',
      './test/cli/vitest.config.ts',
    ],
  },
})
