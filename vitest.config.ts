import { defineConfig } from 'vitest/config'

// Two projects: the gateway (tests in test/, emulator as an auxiliary Worker) and the emulator's own.
export default defineConfig({
  test: {
    projects: ['./test/vitest.config.ts', './emulator/vitest.config.ts'],
  },
})
