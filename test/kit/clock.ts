/**
 * The one way tests move time, in both Workers: `Date` is faked, timers are not. The code under
 * test runs in the test's isolate (the gateway through `worker.fetch`, the emulator's source
 * through `exports.default`), so it reads the same faked `Date`; real timers keep workerd's I/O,
 * the gateway's retry backoff and the emulator's latency fault working.
 *
 * The faked clock stands still until `advance()` moves it, so a test decides exactly how much time
 * passes between two steps. Call `restore()` (in `finally` or `afterAll`) to go back to real time.
 */
import { vi } from 'vitest'

export interface FakeClock {
  now(): number
  advance(ms: number): void
  restore(): void
}

export function fakeClock(start = Date.now()): FakeClock {
  let now = start
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(now)
  return {
    now: () => now,
    advance(ms) {
      now += ms
      vi.setSystemTime(now)
    },
    restore: () => vi.useRealTimers(),
  }
}
