/**
 * Client processes (curl, wrangler, the SDK driver, the README snippets), each in a process group
 * of its own and killed with its whole group when its time is up, so that a hanging client fails
 * its test instead of the run. A failed expectation shows the command and everything it printed.
 */
import { spawn } from 'node:child_process'

export interface Run {
  command: string
  args: string[]
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  stdout: string
  stderr: string
  ms: number
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  input?: string
  /** Default 30 s: generous for one CLI start on a loaded 2-core machine, short next to a hang. */
  timeoutMs?: number
}

const running = new Set<number>()

// ANSI colours: wrangler prints them whatever FORCE_COLOR/NO_COLOR say.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g
export const plain = (text: string) => text.replace(ANSI, '')

export function run(command: string, args: string[], options: RunOptions = {}): Promise<Run> {
  const { env, cwd, input, timeoutMs = 30_000 } = options
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: env ? { ...process.env, ...env } : process.env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    })
    const pid = child.pid
    if (pid !== undefined) running.add(pid)
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(pid)
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      if (pid !== undefined) running.delete(pid)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      // Whatever the client left behind in its group (a bash snippet's curl) goes with it.
      killGroup(pid)
      if (pid !== undefined) running.delete(pid)
      resolve({
        command,
        args,
        code,
        signal,
        timedOut,
        stdout: plain(stdout),
        stderr: plain(stderr),
        ms: Date.now() - started,
      })
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

function killGroup(pid: number | undefined) {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/** Every client still running (a test that timed out before its client did): for afterAll. */
export function killClients() {
  for (const pid of running) killGroup(pid)
  running.clear()
}

/** PEM bodies say nothing to a reader of a failure; their kind and place do. */
const elidePem = (text: string) =>
  text.replace(
    /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g,
    '-----BEGIN $1-----…-----END $1-----',
  )

const tail = (text: string, max = 8_000) =>
  text.length > max ? `…(${text.length - max} characters before)\n${text.slice(-max)}` : text

/** What a failure message shows: the command, how it ended, what it printed. */
export function describeRun(result: Run): string {
  const shown = [result.command, ...result.args]
    .map((arg) => (arg.length > 200 ? `${arg.slice(0, 200)}…` : arg))
    .join(' ')
  const ending = result.timedOut
    ? `killed after ${result.ms} ms (timeout)`
    : `exit ${result.code ?? result.signal} after ${result.ms} ms`
  const out = (text: string) => tail(elidePem(text))
  return [
    `$ ${shown}`,
    ending,
    '--- stdout ---',
    out(result.stdout),
    '--- stderr ---',
    out(result.stderr),
  ]
    .join('\n')
    .trimEnd()
}

/** Fails with the run's whole story unless it exited 0. */
export function expectSuccess(result: Run): Run {
  if (result.code !== 0) throw new Error(`client failed\n${describeRun(result)}`)
  return result
}

/** Fails with the run's whole story unless it exited non-zero by itself (not killed). */
export function expectFailure(result: Run): Run {
  if (result.code === 0 || result.code === null) {
    throw new Error(`client was expected to fail\n${describeRun(result)}`)
  }
  return result
}

/** Runs `check`; if it throws, the error carries the run's output too. */
export function explained<T>(result: Run, check: () => T): T {
  try {
    return check()
  } catch (error) {
    // Once: expectSuccess/expectFailure inside `check` already told the run's story.
    if (error instanceof Error && !error.message.includes('--- stdout ---')) {
      error.message += `\n${describeRun(result)}`
    }
    throw error
  }
}
