/**
 * How the servers are started (scripts/dev-servers.mjs) and `npm start` itself: every port
 * chosen by the caller or free, a state folder per Worker, and nothing left running once stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { ROOT, freePorts, portOr } from '../../scripts/dev-servers.mjs'
import { DEMO_KEYS, e2e } from './support/context'

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

/** Every process descending from `pid`, from /proc (Linux, as CI is). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The command name (2nd field) is in parentheses and may hold spaces: read after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)])
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      found.push(child)
      queue.push(child)
    }
  }
  return found
}

/** Running, that is: not gone and not a zombie waiting for a parent to reap it. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

describe('the servers of this run', () => {
  test('four distinct ports, all listening, and a state folder for each Worker', async () => {
    const { ports, workDir } = e2e()
    const all = Object.values(ports)
    expect(new Set(all).size).toBe(4)
    for (const port of all) expect(await listening(port), String(port)).toBe(true)
    expect(readdirSync(path.join(workDir, 'state')).sort()).toEqual(['emulator', 'gateway'])
    // Both Workers write SQLite files of their own (the cache's metadata at least): the reason
    // they must not share one folder.
    for (const worker of ['emulator', 'gateway']) {
      expect(readdirSync(path.join(workDir, 'state', worker))).toContain('v3')
    }
  })
})

describe('ports', () => {
  test('portOr keeps a free preferred port, and picks another when it is taken or already given', async () => {
    const [free] = (await freePorts(1)) as [number]
    expect(await portOr(free)).toBe(free)
    expect(await portOr(free, [free])).not.toBe(free)
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const busy = (holder.address() as net.AddressInfo).port
    try {
      const other = await portOr(busy)
      expect(other).not.toBe(busy)
      expect(await listening(other)).toBe(false)
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
  })

  test('freePorts gives distinct ports', async () => {
    const ports = await freePorts(8)
    expect(new Set(ports).size).toBe(8)
  })
})

describe('npm start', () => {
  const children: ChildProcess[] = []
  // Every process seen under an npm start: once npm start has exited, its orphans are no longer
  // its descendants, so the clean-up must know them by pid (each wrangler leads its group).
  const seen = new Set<number>()
  const watch = (pid: number) => {
    const found = descendants(pid)
    for (const p of found) seen.add(p)
    return found
  }
  const stateDir = mkdtempSync(path.join(tmpdir(), 'mtls-e2e-start-'))
  afterAll(() => {
    for (const child of children) if (child.pid !== undefined) watch(child.pid)
    for (const pid of seen) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL')
        } catch {
          // already gone, or not a group leader
        }
      }
    }
    for (const child of children) child.kill('SIGKILL')
    rmSync(stateDir, { recursive: true, force: true })
  })

  async function npmStart(args: string[] = [], given?: [number, number, number, number]) {
    const ports = given ?? ((await freePorts(4)) as [number, number, number, number])
    const [gatewayPort, emulatorPort, gatewayInspector, emulatorInspector] = ports
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/start.mjs'), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        GATEWAY_PORT: String(gatewayPort),
        EMULATOR_PORT: String(emulatorPort),
        GATEWAY_INSPECTOR_PORT: String(gatewayInspector),
        EMULATOR_INSPECTOR_PORT: String(emulatorInspector),
        STATE_DIR: stateDir,
        WRANGLER_REGISTRY_PATH: path.join(stateDir, 'registry'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    const run = { output: '' }
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (run.output += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (run.output += chunk))
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    )
    const exit = () =>
      Promise.race([
        exited,
        new Promise((resolve) => setTimeout(() => resolve('still running after 15 s'), 15_000)),
      ])
    return {
      child,
      ports,
      exit,
      get output() {
        return run.output
      },
    }
  }

  test('Ctrl-C while it is still starting leaves nothing running', async () => {
    const start = await npmStart()
    // Both wrangler processes exist (they are what would be orphaned).
    const t0 = Date.now()
    while (watch(start.child.pid!).length < 2 && Date.now() - t0 < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const spawned = watch(start.child.pid!)
    expect(spawned.length).toBeGreaterThanOrEqual(2)
    start.child.kill('SIGINT')
    expect(await start.exit(), start.output).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(spawned.filter(alive), start.output).toEqual([])
  })

  test('serves on the ports it is given, and Ctrl-C stops both Workers and everything they started', async () => {
    const start = await npmStart()
    const [gatewayPort, emulatorPort, gatewayInspector, emulatorInspector] = start.ports
    const banner = `mtls-gateway (demo policy, managed) on http://127.0.0.1:${gatewayPort}`
    const t0 = Date.now()
    while (!start.output.includes(banner)) {
      if (start.child.exitCode !== null) throw new Error(`npm start exited early:\n${start.output}`)
      if (Date.now() - t0 > 60_000) throw new Error(`npm start not ready in 60 s:\n${start.output}`)
      watch(start.child.pid!)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const why = `npm start's output:\n${start.output}`
    expect(start.output, why).toContain(
      `Inspectors: gateway 127.0.0.1:${gatewayInspector}, emulator 127.0.0.1:${emulatorInspector}`,
    )
    const whoami = await fetch(`http://127.0.0.1:${gatewayPort}/gateway/v1/whoami`, {
      headers: { authorization: `Bearer ${DEMO_KEYS.alice}` },
    })
    expect(await whoami.json(), why).toMatchObject({
      result: { member: 'alice', team: 'payments' },
    })
    for (const port of [emulatorPort, gatewayInspector, emulatorInspector]) {
      expect(await listening(port), `${port}\n${why}`).toBe(true)
    }
    const entries = readdirSync(stateDir)
    for (const name of [
      `demo-${gatewayPort}.env`,
      `emulator-${emulatorPort}`,
      `gateway-${gatewayPort}`,
    ]) {
      expect(entries, why).toContain(name)
    }

    const spawned = watch(start.child.pid!)
    expect(spawned.length, why).toBeGreaterThanOrEqual(4) // two wrangler, two workerd at least
    // A terminal's Ctrl-C reaches only npm start's own process group: the Workers run in groups
    // of their own, so it is npm start that must stop them.
    start.child.kill('SIGINT')
    expect(await start.exit(), why).toBe(0)
    expect(spawned.filter(alive), why).toEqual([])
    for (const port of start.ports) {
      expect(await listening(port), `${port}\n${why}`).toBe(false)
    }
  })

  test('a busy port is one line naming the setting to change, and nothing is started', async () => {
    const ports = (await freePorts(4)) as [number, number, number, number]
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(ports[0], '127.0.0.1', resolve))
    try {
      const start = await npmStart([], ports)
      expect(await start.exit(), start.output).toBe(1)
      expect(start.output.trim()).toBe(
        `start: port ${ports[0]} is in use; choose another with GATEWAY_PORT, e.g. GATEWAY_PORT=${ports[0] + 10} npm start`,
      )
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
  })

  test('runs your own policy file with --policy', async () => {
    const key = `mtlsgw_${'e2eOwnPolicyKey'.padEnd(43, '0')}`
    const policy = JSON.parse(readFileSync(path.join(ROOT, 'demo/policy.json'), 'utf8')) as {
      demo?: boolean
      members: Record<string, unknown>[]
    }
    delete policy.demo
    // The demo's members, but alice with a key of her own, and one member more.
    const keySha256 = createHash('sha256').update(key).digest('hex')
    policy.members = [
      ...policy.members.map((m) => (m.id === 'alice' ? { ...m, key_sha256: keySha256 } : m)),
      {
        id: 'zoe',
        team: 'identity',
        roles: ['developer'],
        key_sha256: keySha256.replace(/^./, '0'),
      },
    ]
    const file = path.join(stateDir, 'own-policy.json')
    writeFileSync(file, JSON.stringify(policy))
    const start = await npmStart(['--policy', file])
    const [gatewayPort] = start.ports
    const t0 = Date.now()
    while (!start.output.includes(`.json, pinned) on http://127.0.0.1:${gatewayPort}, emulator`)) {
      if (start.child.exitCode !== null) throw new Error(`npm start exited early:\n${start.output}`)
      if (Date.now() - t0 > 60_000) throw new Error(`npm start not ready in 60 s:\n${start.output}`)
      watch(start.child.pid!)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const why = `npm start's output:\n${start.output}`
    expect(start.output, why).toContain('mtls-gateway (')
    expect(start.output, why).not.toContain('demo policy')
    const whoami = async (bearer: string) =>
      (await fetch(`http://127.0.0.1:${gatewayPort}/gateway/v1/whoami`, {
        headers: { authorization: `Bearer ${bearer}` },
      }).then((r) => r.json())) as { result: { member?: string } | null }
    expect((await whoami(key)).result, why).toMatchObject({ member: 'alice', team: 'payments' })
    // alice's published demo key is not in this policy.
    expect((await whoami(DEMO_KEYS.alice)).result, why).toBeNull()
    watch(start.child.pid!)
    start.child.kill('SIGINT')
    expect(await start.exit(), why).toBe(0)
  })
})
