/**
 * One load run with autocannon: `connections` clients, each sending its next request as soon as
 * the previous one is answered (a closed loop), for a time or for a number of requests.
 *
 * Latencies and throughput are taken from autocannon's per-response event rather than its
 * summary: the summary's histogram rounds to whole milliseconds (too coarse for "1 ms added") and
 * its duration ends on the next one-second tick (too long for a run of a fixed number of requests).
 */
import autocannon from 'autocannon'

export interface LoadRequest {
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  headers: Record<string, string>
  body?: string
}

export interface LoadOptions {
  origin: string
  connections: number
  /** Seconds; for reads, which can repeat the same request. */
  duration?: number
  /** A fixed number of requests; for writes, each of which consumes a fixture. */
  amount?: number
  /** The request to send; called once per request. */
  next: () => LoadRequest
}

export interface LoadResult {
  requests: number
  /** Answers that were not 2xx, and connection errors: a run with any is not a fair sample. */
  failures: number
  /** Requests per second, from the first request sent to the last answer received. */
  rps: number
  p50: number
  p99: number
}

/** The q-quantile of sorted values, by the nearest-rank method. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = []
  let failures = 0
  let last = 0
  const started = performance.now()
  const instance = autocannon({
    url: options.origin,
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.duration ?? 3 } : {}),
    ...(options.amount === undefined ? {} : { amount: options.amount }),
    timeout: 30,
    requests: [
      {
        setupRequest: (request: Record<string, unknown>) => {
          const { method, path, headers, body } = options.next()
          return { ...request, method, path, headers, body }
        },
      },
    ],
  })
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencies.push(ms)
    if (status < 200 || status > 299) failures++
    last = performance.now()
  })
  const summary = await instance
  latencies.sort((a, b) => a - b)
  return {
    requests: latencies.length,
    failures: failures + (summary.errors ?? 0),
    rps: latencies.length / ((last - started) / 1000),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  }
}
