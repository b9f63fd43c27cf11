#!/usr/bin/env node
/**
 * `npm run audit:verify`: checks the audit log's integrity, offline on an NDJSON export or online
 * through the gateway's verify API (`--help` says how). Keys come from the environment only, so
 * they never land in shell history or a process list.
 */ import { readFileSync } from 'node:fs'
import { parseCheckpoints } from '../src/audit/checkpoint'
import { verifyExport } from '../src/audit/verify-export'
import { misuse, readCommandLine } from './command-line'

interface Finding {
  kind: string
  key?: string
  line?: number
  detail: string
}

const command = {
  name: 'audit:verify',
  synopsis:
    'npm run audit:verify -- --file <export.ndjson> [--checkpoints <file>] | --url <gateway> [--from T] [--to T]',
  help: `
Checks the audit log's integrity, offline or online, and prints one line per finding.

  --file <export.ndjson>  offline: an NDJSON export (GET /gateway/v1/audit/export), checked with
                          the signing key in AUDIT_SIGNING_KEY
  --checkpoints <file>    offline: checkpoints kept outside Cloudflare (one per line, as
                          GET /gateway/v1/audit/checkpoint answers them): the export must agree
  --url <gateway>         online: the gateway's verify API, page by page, with an auditor or admin
                          gateway key in MTLSGW_KEY (checks the stored values too)
  --from <RFC 3339>       online: where the range starts
  --to <RFC 3339>         online: where the range ends
  -h, --help              this text

Keys come from the environment only, so they never land in shell history or a process list.
Exit status: 0 when there is no finding, 1 when there are, 2 when the arguments are wrong or the
gateway cannot be asked.`,
  options: {
    file: { type: 'string' },
    checkpoints: { type: 'string' },
    url: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
  },
} as const

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    misuse(command, `cannot read ${file}: ${(error as Error).message}`)
  }
}

async function offline(file: string, checkpointFile?: string) {
  const key = process.env.AUDIT_SIGNING_KEY
  if (!key) misuse(command, 'set AUDIT_SIGNING_KEY to the key the gateway signs with')
  const text = readText(file)
  const checkpoints = checkpointFile ? parseCheckpoints(readText(checkpointFile)) : []
  if (typeof checkpoints === 'string') misuse(command, `--checkpoints: ${checkpoints}`)
  const report = await verifyExport(text, key, checkpoints)
  for (const [chain, { first, last, intact }] of Object.entries(report.chains)) {
    console.log(`chain\t${chain}\t#${first}..#${last}\t${intact ? 'links hold' : 'broken'}`)
  }
  if (report.nextCursor)
    console.log(`note: the export was cut short (next_cursor ${report.nextCursor})`)
  return {
    checked: report.checked,
    problems: report.problems as Finding[],
    pending: report.pending,
  }
}

async function online(base: string, from?: string, to?: string) {
  const key = process.env.MTLSGW_KEY
  if (!key) misuse(command, 'set MTLSGW_KEY to an auditor or admin gateway key')
  if (!URL.canParse(base)) misuse(command, `--url: not a URL: ${base}`)
  const result = {
    checked: 0,
    problems: [] as Finding[],
    pending: [] as string[],
  }
  let cursor: string | null = null
  do {
    const search = new URLSearchParams({
      limit: '200',
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(cursor ? { cursor } : {}),
    })
    const url = `${base.replace(/\/+$/, '')}/gateway/v1/audit/verify?${search}`
    const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } }).catch(
      (error: Error) => misuse(command, `cannot reach ${base}: ${String(error.cause ?? error)}`),
    )
    const body = (await response
      .json()
      .catch(() =>
        misuse(command, `${base} answered ${response.status} without JSON: is it the gateway?`),
      )) as {
      success: boolean
      errors: { code: number; message: string }[]
      result: {
        checked: number
        problems: Finding[]
        pending: string[]
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
    cursor = body.result.cursor
  } while (cursor)
  return result
}

const { values } = readCommandLine(command)
if (Boolean(values.file) === Boolean(values.url))
  misuse(command, 'give exactly one of --file and --url')
if (values.checkpoints && !values.file) misuse(command, '--checkpoints goes with --file')
const report = values.file
  ? await offline(values.file, values.checkpoints)
  : await online(values.url!, values.from, values.to)

for (const p of report.problems) {
  console.log(`${p.kind}\t${p.key ?? '-'}${p.line ? `\tline ${p.line}` : ''}\t${p.detail}`)
}
// A pending entry is a change whose outcome was never recorded: a crash, or a final entry rolled
// back to its (validly signed) pending version. Either needs a human, so it fails the check too.
for (const key of report.pending) console.log(`pending\t${key}\toutcome never recorded`)
console.log(
  `${report.checked} entries checked, ${report.problems.length} problems, ${report.pending.length} pending`,
)
process.exit(report.problems.length + report.pending.length > 0 ? 1 : 0)
