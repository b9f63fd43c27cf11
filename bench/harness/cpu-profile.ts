/**
 * CPU time a Worker spends, as workerd's own V8 sees it: the sampling CPU profiler, reached over
 * the Chrome DevTools protocol on the Worker's `wrangler dev` inspector port. Between `start()` and
 * `stop()` V8 samples the isolate's thread every `intervalUs`; the time of the samples that fall in
 * JavaScript or in the garbage collector is the CPU the isolate spent (the Worker's code, its
 * libraries, the runtime's JS glue, and, for the gateway, its Durable Object, which shares the
 * isolate under `wrangler dev`). Samples with no JavaScript on the stack ("(idle)", "(program)":
 * waiting on I/O, or workerd's own C++) are left out, so the figure is a floor for what Cloudflare
 * bills, which also counts some time in the runtime's C++ on the request's behalf.
 *
 * Node 20 needs `--experimental-websocket` for the global WebSocket (`npm run bench` passes it).
 */

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const NOT_JAVASCRIPT = new Set(['(idle)', '(program)', '(root)'])

export interface CpuProfiler {
  start(): Promise<void>
  /** Milliseconds of CPU in JavaScript and GC since `start()`. */
  stop(): Promise<number>
  close(): void
}

export async function connectProfiler(
  inspectorPort: number,
  intervalUs = 100,
): Promise<CpuProfiler> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl?: string
  }[]
  const url = targets.find((target) => target.webSocketDebuggerUrl)?.webSocketDebuggerUrl
  if (url === undefined) throw new Error(`no inspector target on port ${inspectorPort}`)
  // wrangler's inspector proxy admits only local origins (it guards against DNS rebinding).
  const init = { headers: { origin: 'http://localhost' } } as unknown as string[]
  const socket = new WebSocket(url, init)
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true })
    socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), {
      once: true,
    })
  })
  let nextId = 1
  const pending = new Map<number, (result: unknown) => void>()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown }
    if (message.id !== undefined) pending.get(message.id)?.(message.result)
  })
  const send = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve) => {
      const id = nextId++
      pending.set(id, (result) => {
        pending.delete(id)
        resolve(result as T)
      })
      socket.send(JSON.stringify({ id, method, params }))
    })

  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: intervalUs })
  return {
    start: () => send('Profiler.start'),
    async stop() {
      const { profile } = await send<{ profile: Profile }>('Profiler.stop')
      return busyMs(profile)
    },
    close: () => socket.close(),
  }
}

function busyMs(profile: Profile): number {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  let busyUs = 0
  profile.samples.forEach((nodeId, i) => {
    const name = byId.get(nodeId)?.callFrame.functionName ?? ''
    if (!NOT_JAVASCRIPT.has(name)) busyUs += profile.timeDeltas[i] ?? 0
  })
  return busyUs / 1000
}
