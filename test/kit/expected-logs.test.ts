/**
 * The output filter hides what the suites print on purpose and nothing else: a filter that hid a
 * real error would be worse than the noise.
 */
import { describe, expect, it } from 'vitest'
import { INJECTED, isExpectedGatewayLog, isExpectedWorkerdRecord } from './expected-logs'

const ID = '01a233ba-f571-765f-bce2-ca0f037ccad6'
const dropped = `request ${ID} failed: 18503: The upstream could not be reached or dropped the connection Error: emulated connection drop
    at attempt (/work/src/upstream/client.ts:43:18)
    at dispatch (/work/node_modules/hono/dist/compose.js:35:11) {
  remote: true
}
`

describe('gateway console output', () => {
  it.each([
    ['an upstream fault, with its stack', dropped],
    [
      'a KV failure the kit injected',
      `audit entry for request ${ID} not written: Error: KV PUT failed: 503 Service Unavailable (${INJECTED})\n`,
    ],
    ['a broken configuration', 'mtls-gateway refuses to serve: POLICY: not valid JSON\n'],
    [
      'the console without its sessions namespace',
      `console request ${ID} failed: 18012: Console sessions cannot be checked Error: missing\n`,
    ],
    ['several expected calls in one chunk', `${dropped}mtls-gateway refuses to serve: AUDIT\n`],
    [
      'an error printed in colour',
      '\u001b[22m\u001b[39madopting unowned certificates failed GatewayError: 18401: The audit log cannot be written\n\u001b[90m    ... 4 lines matching cause stack trace ...\u001b[39m\n  [cause]: Error: x\n}\n',
    ],
  ])('hides %s', (_, chunk) => {
    expect(isExpectedGatewayLog(chunk)).toBe(true)
  })

  it.each([
    ['an internal error', `request ${ID} failed: 18500: Internal gateway error TypeError: boom\n`],
    ['a console internal error', `console request ${ID} failed: 18500: Internal gateway error\n`],
    ['a line nobody listed', 'clearing an upload intent failed TypeError: x is undefined\n'],
    [
      'a KV failure the kit did not inject',
      `audit entry for request ${ID} not written: Error: KV PUT failed: 503\n`,
    ],
    ['an unexpected call among expected ones', `${dropped}something nobody expected\n`],
    ['an unexpected call in colour', '\u001b[31mTypeError: boom\u001b[39m\n'],
    ['an empty chunk', '\n'],
  ])('shows %s', (_, chunk) => {
    expect(isExpectedGatewayLog(chunk)).toBe(false)
  })
})

describe('workerd records', () => {
  it.each([
    'uncaught exception; source = Uncaught (in promise); stack = Error: emulated connection drop',
    'uncaught exception; source = Uncaught (in promise); stack = ConnectionReset: emulated connection reset\n    at injectFaults (emulator/src/faults.ts:124:13)',
    'uncaught exception; exception = workerd/jsg/value.h:1480: failed: jsg.Error: ConnectionReset: emulated connection reset\nstack: workerd@2f20430',
    'exception = workerd/jsg/value.h:1480: failed: remote.jsg.Error: emulated connection drop\nstack: workerd@2f2d500',
    'exception = workerd/api/web-socket.c++:821: disconnected: WebSocket peer disconnected',
  ])('hides %s', (record) => {
    expect(isExpectedWorkerdRecord(`${record}\n`)).toBe(true)
  })

  it.each([
    'uncaught exception; source = Uncaught (in promise); stack = TypeError: Cannot read properties of undefined',
    'emulator: unexpected error Error: boom',
    // An expected phrase in a record that is about something else.
    'uncaught exception; source = Uncaught (in promise); stack = Error: emulated connection drop handler crashed: TypeError',
    'exception = workerd/api/web-socket.c++:821: disconnected: WebSocket peer disconnected unexpectedly while sending',
  ])('shows %s', (record) => {
    expect(isExpectedWorkerdRecord(`${record}\n`)).toBe(false)
  })
})
