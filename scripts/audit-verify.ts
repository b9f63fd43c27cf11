#!/usr/bin/env node
/**
 * `npm run audit:verify`: checks the audit log's integrity, offline on an NDJSON export or online
 * through the gateway's verify API (`--help` says how). Keys come from the environment only, so
 * they never land in shell history or a process list; the public key, which is no secret, is an
 * argument. It never answers "clean" (exit 0) unless the entries and the chains over the range
 * checked out: a chain it could not have compared is a finding.
 */ import { readFileSync } from 'node:fs'
import { parseCheckpoints } from '../src/audit/checkpoint'
import { readPublicKey, type PublicKey } from '../src/audit/ed25519'
import { verifyExport } from '../src/audit/verify-export'
import { misuse, readCommandLine } from './command-line'

interface Finding {
  kind: string
  key?: string
  line?: number
  chain?: string
  seq?: number
  detail: string
}

const command = {
  name: 'audit:verify',
  synopsis:
    'npm run audit:verify -- --file <export.ndjson> (--public-key <jwk> | --url <gateway>) [--checkpoints <file>] [--from T] [--to T] | --url <gateway> [--from T] [--to T] [--public-key <jwk>]',
  help: `
Checks the audit log's integrity, offline or online, and prints one line per finding.

  --file <export.ndjson>  offline: an NDJSON export (GET /gateway/v1/audit/export): its entries
                          checked with the HMAC key in AUDIT_SIGNING_KEY, its end marker (what it
                          covered: time range, filters) with the gateway's public key
  --public-key <jwk>      the gateway's Ed25519 public key, a file or the JSON itself (as
                          GET /gateway/v1/audit/public-key answers it): pin it once, keep it
                          outside Cloudflare. With --url alone: the gateway must still publish it
  --checkpoints <file>    offline: checkpoints kept outside Cloudflare (one per line, as
                          GET /gateway/v1/audit/checkpoint answers them): the export must agree
  --url <gateway>         online: the gateway's verify API, page by page, with an auditor or admin
                          gateway key in MTLSGW_KEY (checks the stored values and walks the chains
                          over the range: a deleted entry is a finding). With --file and no
                          --public-key: fetch the public key from there (trusting the gateway now)
  --from <RFC 3339>       where the range starts (offline: the export must cover it)
  --to <RFC 3339>         where the range ends (offline: the export must cover it)
  -h, --help              this text

Keys come from the environment only, so they never land in shell history or a process list.
Exit status: 0 when the entries and the chains over the range checked out and nothing is pending
(never otherwise); 1 when there are findings (a chain that could not be read is one); 2 when the
arguments are wrong or the gateway cannot be asked.`,
  options: {
    file: { type: 'string' },
    checkpoints: { type: 'string' },
    url: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'public-key': { type: 'string' },
  },
} as const

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    misuse(command, `cannot read ${file}: ${(error as Error).message}`)
  }
}

function gatewayKey(): string {
  const key = process.env.MTLSGW_KEY
  if (!key) misuse(command, 'set MTLSGW_KEY to an auditor or admin gateway key')
  return key
}

/** One GET of the gateway's API: its `result`, or exit 2 saying why it could not be asked. */
async function ask(base: string, path: string): Promise<unknown> {
  if (!URL.canParse(base)) misuse(command, `--url: not a URL: ${base}`)
  const url = `${base.replace(/\/+$/, '')}${path}`
  const response = await fetch(url, { headers: { authorization: `Bearer ${gatewayKey()}` } }).catch(
    (error: Error) => misuse(command, `cannot reach ${base}: ${String(error.cause ?? error)}`),
  )
  const body = (await response
    .json()
    .catch(() =>
      misuse(command, `${base} answered ${response.status} without JSON: is it the gateway?`),
    )) as { success: boolean; errors: { code: number; message: string }[]; result: unknown }
  if (!body.success) {
    console.error(`audit:verify: ${response.status} ${JSON.stringify(body.errors)}`)
    process.exit(2)
  }
  return body.result
}

/** The pinned key (a file, or the JSON itself), or the one the gateway publishes now. */
async function publicKeyFrom(
  pinned: string | undefined,
  base: string | undefined,
): Promise<PublicKey> {
  let json: unknown
  if (pinned !== undefined) {
    const text = pinned.trimStart().startsWith('{') ? pinned : readText(pinned)
    try {
      json = JSON.parse(text)
    } catch {
      misuse(command, '--public-key: not JSON')
    }
  } else if (base !== undefined) {
    json = await ask(base, '/gateway/v1/audit/public-key')
  } else {
    misuse(command, '--file needs --public-key <jwk> (or --url, to fetch it from the gateway)')
  }
  const key = await readPublicKey(json)
  if (typeof key === 'string') misuse(command, `--public-key: ${key}`)
  if (pinned === undefined) {
    // Trust on first use: a key fetched from the gateway proves only what the gateway says now.
    console.log(
      `note: public key ${key.kid} fetched from ${base}, not pinned: save it and pass --public-key`,
    )
  }
  return key
}

async function offline(
  file: string,
  publicKeyOf: () => Promise<PublicKey>,
  options: { checkpointFile?: string; from?: string; to?: string },
) {
  const key = process.env.AUDIT_SIGNING_KEY
  if (!key) misuse(command, 'set AUDIT_SIGNING_KEY to the key the gateway signs entries with')
  const text = readText(file)
  const publicKey = await publicKeyOf()
  const checkpoints = options.checkpointFile
    ? parseCheckpoints(readText(options.checkpointFile))
    : []
  if (typeof checkpoints === 'string') misuse(command, `--checkpoints: ${checkpoints}`)
  const report = await verifyExport(text, { signingKey: key, publicKey }, checkpoints, {
    ...(options.from ? { from: options.from } : {}),
    ...(options.to ? { to: options.to } : {}),
  })
  if (report.covered) {
    const { range, filters, limit, from_cursor: fromCursor, at, kid } = report.covered
    const named = Object.entries(filters).map(([name, value]) => `${name}=${value}`)
    console.log(
      `export\t${range.from}..${range.to}\tfilters: ${named.join(' ') || 'none'}\tlimit ${limit}${fromCursor ? '\tcontinued from a cursor' : ''}\tsigned ${at} by ${kid}`,
    )
  }
  for (const [chain, { first, last, intact }] of Object.entries(report.chains)) {
    console.log(`chain\t${chain}\t#${first}..#${last}\t${intact ? 'links hold' : 'broken'}`)
  }
  if (report.nextCursor)
    console.log(`note: the export was cut short (next_cursor ${report.nextCursor})`)
  return {
    summary: `${report.checked} entries checked`,
    problems: report.problems as Finding[],
    pending: report.pending,
  }
}

interface VerifyPage {
  checked: number
  links_checked?: unknown
  problems: Finding[]
  pending: string[]
  cursor: string | null
}

async function online(base: string, from?: string, to?: string, pinned?: PublicKey) {
  const result = { checked: 0, links: 0, problems: [] as Finding[], pending: [] as string[] }
  if (pinned !== undefined) {
    const published = await readPublicKey(await ask(base, '/gateway/v1/audit/public-key'))
    if (typeof published === 'string' || published.kid !== pinned.kid) {
      result.problems.push({
        kind: 'key',
        detail: `the gateway publishes ${typeof published === 'string' ? 'no usable key' : `key ${published.kid}`}, not the pinned ${pinned.kid}`,
      })
    }
  }
  let cursor: string | null = null
  do {
    const search = new URLSearchParams({
      limit: '200',
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(cursor ? { cursor } : {}),
    })
    const page = (await ask(base, `/gateway/v1/audit/verify?${search}`)) as VerifyPage
    // A gateway that does not say it walked its chains cannot vouch that nothing was deleted.
    if (typeof page.links_checked !== 'number') {
      result.problems.push({
        kind: 'unverified',
        detail:
          'the gateway did not compare the chains over this range (an older version?): deleted entries cannot be ruled out; walk /gateway/v1/audit/verify/chain',
      })
    } else {
      result.links += page.links_checked
    }
    result.checked += page.checked
    result.problems.push(...page.problems)
    result.pending.push(...page.pending)
    cursor = page.cursor
  } while (cursor)
  return {
    summary: `${result.checked} entries and ${result.links} chain links checked`,
    problems: result.problems,
    pending: result.pending,
  }
}

const { values } = readCommandLine(command)
if (!values.file && !values.url) misuse(command, 'give --file or --url')
if (values.checkpoints && !values.file) misuse(command, '--checkpoints goes with --file')
const report = values.file
  ? await offline(values.file, () => publicKeyFrom(values['public-key'], values.url), {
      checkpointFile: values.checkpoints,
      from: values.from,
      to: values.to,
    })
  : await online(
      values.url!,
      values.from,
      values.to,
      values['public-key'] === undefined
        ? undefined
        : await publicKeyFrom(values['public-key'], undefined),
    )

for (const p of report.problems) {
  const where =
    p.key ?? (p.chain !== undefined ? `${p.chain}${p.seq !== undefined ? ` #${p.seq}` : ''}` : '-')
  console.log(`${p.kind}\t${where}${p.line ? `\tline ${p.line}` : ''}\t${p.detail}`)
}
// A pending entry is a change whose outcome was never recorded: a crash, or a final entry rolled
// back to its (validly signed) pending version. Either needs a human, so it fails the check too.
for (const key of report.pending) console.log(`pending\t${key}\toutcome never recorded`)
console.log(
  `${report.summary}, ${report.problems.length} problems, ${report.pending.length} pending`,
)
process.exit(report.problems.length + report.pending.length > 0 ? 1 : 0)
