/**
 * One load run with autocannon: `connections` clients, each sending its next request as soon as
 * the previous one is answered (a closed loop), for a time or for a number of requests.
 *
 * Latencies and throughput are taken from autocannon's per-response event rather than its
 * summary: the summary's histogram rounds to whole milliseconds (too coarse for "1 ms added") and
 * its duration ends on the next one-second tick (too long for a run of a fixed number of requests).
 *
 * Every answer that is not 2xx is counted by its status and the envelope's first error code
 * (`answers`), and connection errors and timeouts apart: a run with any 5xx or connection error
 * is not a sample of the gateway's cost but of a failure, and the report marks its cell invalid
 * instead of averaging it (issue 17: 500s from requests the runtime cancelled as hung once hid
 * among the non-2xx counts).
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
  /** Answers that were not 2xx, and connection errors and timeouts. */
  failures: number
  /** The answers that were not 2xx, by `<status> <first error code>` (`–` when there is none). */
  answers: Record<string, number>
  /** Connection errors and timeouts (no answer at all). */
  errors: number
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

/** `<status> <code>` of a non-2xx answer: the first error code of its envelope, if it has one. */
export function answerCell(status: number, body: string): string {
  let code = '–'
  try {
    const first = (JSON.parse(body) as { errors?: { code?: unknown }[] }).errors?.[0]?.code
    if (typeof first === 'number') code = String(first)
  } catch {
    code = 'not JSON'
  }
  return `${status} ${code}`
}

/** True when a run's answers hold a server error or a request that got no answer at all. */
export const hasServerErrors = (result: Pick<LoadResult, 'answers' | 'errors'>) =>
  result.errors > 0 || Object.keys(result.answers).some((cell) => cell.startsWith('5'))

export async function load(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = []
  const answers: Record<string, number> = {}
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
        onResponse: (status: number, body: string) => {
          if (status >= 200 && status <= 299) return
          const cell = answerCell(status, body)
          answers[cell] = (answers[cell] ?? 0) + 1
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
  // autocannon's `errors` counts connection errors, its timeouts included.
  const errors = summary.errors ?? 0
  return {
    requests: latencies.length,
    failures: failures + errors,
    answers,
    errors,
    rps: latencies.length / ((last - started) / 1000),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  }
}
