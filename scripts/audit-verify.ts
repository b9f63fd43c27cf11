#!/usr/bin/env node
/**
 * `npm run audit:verify -- ...`: checks the audit log's integrity, two ways.
 *
 *   --file export.ndjson           offline: an NDJSON export (GET /gateway/v1/audit/export),
 *                                  checked with AUDIT_SIGNING_KEY from the environment
 *   --url https://gateway [--from <RFC 3339>] [--to <RFC 3339>]
 *                                  online: the gateway's verify API, page by page, with an auditor
 *                                  or admin gateway key in MTLSGW_KEY (values and index keys too)
 *
 * Prints one line per finding and exits 0 when there is none, 1 when there are, 2 on misuse.
 * Keys come from the environment only, so they never land in shell history or a process list.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { verifyExport } from '../src/audit/verify-export'

interface Finding {
  kind: string
  key?: string
  line?: number
  detail: string
}

function usage(message: string): never {
  console.error(`audit:verify: ${message}`)
  console.error('usage: npm run audit:verify -- --file export.ndjson   (AUDIT_SIGNING_KEY set)')
  console.error(
    '       npm run audit:verify -- --url <gateway> [--from T] [--to T]   (MTLSGW_KEY set)',
  )
  process.exit(2)
}

async function offline(file: string) {
  const key = process.env.AUDIT_SIGNING_KEY
  if (!key) usage('set AUDIT_SIGNING_KEY to the key the gateway signs with')
  const report = await verifyExport(readFileSync(file, 'utf8'), key)
  if (report.nextCursor)
    console.log(`note: the export was cut short (next_cursor ${report.nextCursor})`)
  return {
    checked: report.checked,
    problems: report.problems as Finding[],
    pending: report.pending,
    unchecked: [] as string[],
  }
}

async function online(base: string, from?: string, to?: string) {
  const key = process.env.MTLSGW_KEY
  if (!key) usage('set MTLSGW_KEY to an auditor or admin gateway key')
  const result = {
    checked: 0,
    problems: [] as Finding[],
    pending: [] as string[],
    unchecked: [] as string[],
  }
  let cursor: string | null = null
  do {
    const search = new URLSearchParams({
      limit: '200',
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(cursor ? { cursor } : {}),
    })
    const response = await fetch(`${base.replace(/\/+$/, '')}/gateway/v1/audit/verify?${search}`, {
      headers: { authorization: `Bearer ${key}` },
    })
    const body = (await response.json()) as {
      success: boolean
      errors: { code: number; message: string }[]
      result: {
        checked: number
        problems: Finding[]
        pending: string[]
        unchecked_indexes?: string[]
        cursor: string | null
      }
    }
    if (!body.success) {
      console.error(`audit:verify: ${response.status} ${JSON.stringify(body.errors)}`)
      process.exit(2)
    }
    result.checked += body.result.checked
    result.problems.push(...body.result.problems)
    result.pending.push(...body.result.pending)
    result.unchecked.push(...(body.result.unchecked_indexes ?? []))
    cursor = body.result.cursor
  } while (cursor)
  return result
}

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    url: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
  },
})
if (Boolean(values.file) === Boolean(values.url)) usage('give exactly one of --file and --url')
const report = values.file
  ? await offline(values.file)
  : await online(values.url!, values.from, values.to)

for (const p of report.problems) {
  console.log(`${p.kind}\t${p.key ?? '-'}${p.line ? `\tline ${p.line}` : ''}\t${p.detail}`)
}
// A pending entry is a change whose outcome was never recorded: a crash, or a final entry rolled
// back to its (validly signed) pending version. Either needs a human, so it fails the check too.
for (const key of report.pending) console.log(`pending\t${key}\toutcome never recorded`)
for (const base of report.unchecked)
  console.log(`unchecked\t${base}\tnot fully read; verify a smaller range`)
console.log(
  `${report.checked} entries checked, ${report.problems.length} problems, ${report.pending.length} pending` +
    (report.unchecked.length > 0 ? `, ${report.unchecked.length} index families unchecked` : ''),
)
process.exit(report.problems.length + report.pending.length + report.unchecked.length > 0 ? 1 : 0)
