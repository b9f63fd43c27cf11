/** The command-line tools run in Node, as an operator runs them. */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export default defineProject({
  test: {
    name: 'cli',
    root,
    include: ['test/cli/**/*.test.ts'],
    environment: 'node',
    // Each test starts the tools as processes (tsx: a second or more each on a busy machine).
    testTimeout: 30_000,
  },
})
