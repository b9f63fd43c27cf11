/**
 * CPU time of the workerd of a `wrangler dev` process group, read from Linux's /proc: user +
 * system time, in clock ticks (10 ms). wrangler's own Node process and its esbuild watcher, which
 * do not serve requests, are left out. Unlike a sampling profiler's wall-clock sample intervals it does
 * not grow when other work on the machine preempts the Worker. It counts everything the local
 * runtime does for a request: the Worker's isolate, but also miniflare's dev proxy and its local
 * KV and Durable Object simulators, which production bills to nobody; comparing two groups
 * (gateway and bare) cancels the parts both have.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

/** Command, process group (field 5) and utime + stime (fields 14, 15) of /proc/<pid>/stat. */
function stat(pid: string): { command: string; group: number; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    const command = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'))
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { command, group: Number(fields[2]), ticks: Number(fields[11]) + Number(fields[12]) }
  } catch {
    return undefined // The process ended between listing and reading.
  }
}

/** Milliseconds of CPU used so far by the workerd processes of process group `group`. */
export function groupCpuMs(group: number): number {
  let ticks = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    const process = stat(pid)
    if (process?.group === group && process.command === 'workerd') ticks += process.ticks
  }
  return (ticks * 1000) / TICKS_PER_SECOND
}
