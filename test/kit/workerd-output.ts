/**
 * Node side (vitest configs only): leaves the workerd records listed in expected-logs.ts out of the
 * test output. vitest-pool-workers writes each record workerd prints with one `write()` to stdout
 * or stderr, through a fixed ignore list it offers no option to extend, so the filter sits on
 * those two streams and drops a chunk only when it is one of the expected records; vitest's own
 * output and every other record pass untouched. (vitest's onConsoleLog never sees these: they do
 * not come from a test's console.)
 */
import { isExpectedWorkerdRecord } from './expected-logs.ts'

const installed = Symbol.for('mtls-gateway.test-kit.workerd-output')

export function hideExpectedWorkerdRecords(): void {
  if (process.env.TEST_LOGS === 'all') return
  const globals = globalThis as { [installed]?: true }
  if (globals[installed]) return // both projects' configs call this; filter once
  globals[installed] = true
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string' && isExpectedWorkerdRecord(chunk)) {
        // Keep write()'s contract: a callback, if any, still runs.
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined
        callback?.()
        return true
      }
      return write(chunk, ...rest)
    }) as typeof stream.write
  }
}
