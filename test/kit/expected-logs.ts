/**
 * What the suites make the Workers print on purpose, so that it can be left out of the test output
 * and everything else stands out. Each pattern names what provokes it. Nothing else is hidden: an
 * internal error (18500), an error thrown by a test, the emulator's own "unexpected error", a line
 * nobody listed here all still show. `TEST_LOGS=all` shows everything.
 *
 * Read by the vitest configs (Node) and by test/support/kv.ts (workerd): no imports.
 */

/** Part of every failure the kit injects into a binding (test/support/kv.ts). */
export const INJECTED = 'injected by the test kit'

/** Console lines of the gateway (it runs in the test's isolate, so vitest sees its console). */
export const EXPECTED_GATEWAY_LOGS: readonly RegExp[] = [
  // Whatever the gateway says about a KV failure the kit injected.
  new RegExp(`\\(${INJECTED}\\)`),
  // The 5xx it logs (renderError, app.ts) for the upstream faults tests inject with the emulator
  // (1850x), for the broken configurations the fail-closed tests pass (18501), and for the
  // coordinator or audit log they make unreachable (18507, 18401).
  /^request \S+ failed: (1850[1-7]|18401): /,
  /^mtls-gateway refuses to serve: /,
  // The console's 5xx (console/render.tsx) when a test takes its CONSOLE_SESSIONS binding away.
  /^console request \S+ failed: 18012: /,
  // Adoption (ownership/reconcile.ts) after tests made an upload lose its ledger entry: its
  // notes, and its refusal when the test also broke the audit log.
  // whoami's budget while a test makes the coordinator unreachable (upstream/budget-gate.ts).
  /^the budget could not be read from the coordinator GatewayError: 18507: /,
  // A member's rate counted in the isolate alone while a test makes the coordinator unreachable
  // (identity/member-rate.ts).
  /^member rate of \S+ counted in this isolate alone: GatewayError: 18507: /,
  // An entry written unchained while a test made the chain unreachable.
  /^audit entry \S+ written unchained: GatewayError: 18507: /,
  /^adopted certificate \S+ for team /,
  /^certificate \S+ uploaded by \S+ \(request \S+\) has no ledger entry yet GatewayError: 18507: /,
  /^certificate \S+ matches \d+ uploads; left unowned/,
  /^adopting unowned certificates failed GatewayError: 18401: /,
  // A certificate deleted outside the gateway, met by an owned read or delete (ownership/facts.ts),
  // and that release refused while a test broke the audit log.
  /^released certificate \S+ of team \S+: gone upstream$/,
  /^releasing certificate \S+, gone upstream, failed GatewayError: 18401: /,
  // A duplicate upload whose holder could not be looked up while a test failed the upstream
  // (ownership/transfer.ts): the 1471 is relayed instead.
  /^finding the holder of a duplicate upload failed GatewayError: 1850[2-6]: /,
]

/**
 * Records workerd itself prints (through vitest-pool-workers, straight to the process's output,
 * not through console), matched on their first line.
 */
export const EXPECTED_WORKERD_RECORDS: readonly RegExp[] = [
  // The emulator's `drop` and `reset` faults (emulator/src/faults.ts) are a body stream that errors
  // and an exception thrown out of the Worker: that is what the caller must meet, and workerd
  // reports it as uncaught, in the emulator and again in the caller.
  /^(uncaught exception; )?(source = Uncaught \(in promise\); stack = |exception = ).*emulated connection (drop|reset)$/,
  // vitest-pool-workers closing each test file's runner socket. The pool ignores it itself from
  // 0.16 (cloudflare/workers-sdk#13833), which needs Node 22.
  /^exception = workerd\/api\/web-socket\.c\+\+:\d+: disconnected: WebSocket peer disconnected$/,
  // test/coordinator/schema.test.ts: the instance it restarts, and the coordinator refusing an
  // instance that newer code migrated (the gateway's 503 is what the test asserts).
  /^uncaught exception; exception = .*broken\.outputGateBroken; jsg\.Error: restart for the test$/,
  /^uncaught exception; source = Uncaught \(in promise\); stack = Error: ledger: this instance is at migration 99, newer than this code's \d+$/,
]

const matches = (patterns: readonly RegExp[], line: string) =>
  patterns.some((pattern) => pattern.test(line))

// vitest colours what it prints of an error (stack frames, property values).
// eslint-disable-next-line no-control-regex -- the escape character is what is matched
const COLOURS = /\u001b\[[0-9;]*m/g

/**
 * vitest hands over a test's console output in chunks that may hold several calls, each perhaps
 * followed by an error's stack and properties (indented, or closing a `{ ... }`). A chunk is
 * expected only if every call in it is: one unexpected line keeps the whole chunk, context and all.
 */
export function isExpectedGatewayLog(chunk: string): boolean {
  const calls = chunk
    .replace(COLOURS, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^[\s}\]]/.test(line))
  return calls.length > 0 && calls.every((line) => matches(EXPECTED_GATEWAY_LOGS, line))
}

/** The pool writes one workerd record per chunk: its first line says what it is. */
export const isExpectedWorkerdRecord = (record: string) =>
  matches(EXPECTED_WORKERD_RECORDS, record.split('\n', 1)[0]!.trimEnd())
