/**
 * Runs the benches that live inside workerd (bench/vitest.config.ts: the audit queries over 10,000
 * entries, the KV operations per route) and takes their figures from the one marked line each
 * prints (`AUDIT_QUERIES <json>`, `KV_OPS <json>`).
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { ROOT } from '../../scripts/dev-servers.mjs'

export interface AuditQueryRow {
  query: string
  returned: number
  pages: number
  list: number
  get: number
  ms: number
}

export interface KvOpsRow {
  route: string
  reads: number
  writes: number
  byBinding: string
}

export interface WorkerdFigures {
  auditQueries: AuditQueryRow[]
  kvOps: KvOpsRow[]
}

function marked<T>(output: string, marker: string): T {
  // vitest may put its own label (and colour codes) before a logged line.
  const line = output.split('\n').find((l) => l.includes(`${marker} [`))
  if (line === undefined) throw new Error(`the workerd benches printed no ${marker} line`)
  return JSON.parse(line.slice(line.indexOf(`${marker} [`) + marker.length + 1)) as T
}

export async function runWorkerdBenches(log: (line: string) => void): Promise<WorkerdFigures> {
  const output: string[] = []
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      path.join(ROOT, 'node_modules/.bin/vitest'),
      ['run', '-c', 'bench/vitest.config.ts'],
      { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child.stdout.on('data', (chunk) => output.push(String(chunk)))
    child.stderr.on('data', (chunk) => output.push(String(chunk)))
    child.on('error', reject)
    child.on('exit', resolve)
  })
  const text = output.join('')
  if (code !== 0) {
    log(text)
    throw new Error(`the workerd benches failed (exit ${code})`)
  }
  return {
    auditQueries: marked<AuditQueryRow[]>(text, 'AUDIT_QUERIES'),
    kvOps: marked<KvOpsRow[]>(text, 'KV_OPS'),
  }
}
