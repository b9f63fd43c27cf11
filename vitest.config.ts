import { defineConfig } from 'vitest/config'
import { isExpectedGatewayLog } from './test/kit/expected-logs.ts'

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
    // Only the root config's handler runs. What the gateway logs because a test broke something on
    // purpose is left out (test/kit/expected-logs.ts); TEST_LOGS=all shows it.
    onConsoleLog: (log, _type, entity) =>
      process.env.TEST_LOGS === 'all' ||
      entity?.project.name !== 'gateway' ||
      !isExpectedGatewayLog(log),
  },
})
