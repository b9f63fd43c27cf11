import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'
import { isExpectedGatewayLog } from './test/kit/expected-logs.ts'

/**
 * The browser tests last. They keep the gateway busy for a while without any upstream call, and
 * in the end-to-end suite the first upload after such a pause once met a pooled connection to the emulator that wrangler
 * dev had closed meanwhile ("Network connection lost" after the emulator had created the
 * certificate: the gateway rightly answers 502, since it cannot know). Nothing waits after them.
 */
class BrowserTestsLast extends BaseSequencer {
  override async sort(files: TestSpecification[]) {
    const sorted = await super.sort(files)
    const browser = (f: TestSpecification) => f.moduleId.endsWith('.browser.test.ts')
    return [...sorted.filter((f) => !browser(f)), ...sorted.filter(browser)]
  }
}

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
    // Set here: vitest takes the sequencer from the root config only.
    sequence: { sequencer: BrowserTestsLast },
    onConsoleLog: (log, _type, entity) =>
      process.env.TEST_LOGS === 'all' ||
      entity?.project.name !== 'gateway' ||
      !isExpectedGatewayLog(log),
  },
})
