/**
 * `npm run policy -- <command>`: the policy's review flow (issue 20) from a shell, for teams who
 * keep the policy in git: pull the current revision into a file, diff an edited file against it,
 * propose it, read the proposal's what-if replay, approve it as the second admin. Every command is
 * one or two calls of the gateway's API (/gateway/v1/policy); the only thing computed here is the
 * dry-run diff, which the API has no endpoint for: control/policy-diff.ts is pure, so the file is
 * diffed against the pulled current document exactly as a proposal would be.
 *
 * The member's key comes from MTLSGW_KEY only, never an argument: an argument lands in shell
 * history and in every process listing.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { canonical } from '../src/audit/signing'
import { policyDiff, summaryOf, type PolicyDiff } from '../src/control/policy-diff'
import { parsePolicy, type Policy } from '../src/policy/document'
import { misuse, readCommandLine, type Command } from './command-line'

const NAME = 'policy'
/** Access differences printed before "... and N more" (the gateway lists up to 500). */
const LISTED = 20

const GATEWAY_HELP = `  --gateway <url>         the gateway (default: the MTLSGW_URL environment variable)`
const KEY_HELP = `The member's key is read from MTLSGW_KEY only (a member allowed the policy action), never
from an argument: an argument would land in shell history and in the process list.`
const EXIT_HELP = `Exit status: 0 when the command did what it says, 1 when the gateway refused it (its error
code and message are printed) or could not be reached, 2 when the arguments are wrong.`

const gateway = { gateway: { type: 'string' } } as const

const COMMANDS = {
  pull: {
    synopsis: 'npm run policy -- pull [--out <file>] [--gateway <url>]',
    help: `
Writes the current policy revision's document (canonical: keys sorted, indented) to a file or to
stdout, and names the revision. With --out, the revision id is also written to <file>.base, which
\`propose <file>\` takes as its base, so a proposal on a revision changed since is refused.

  --out <file>            write the document there (default: stdout; the id goes to stderr)
${GATEWAY_HELP}
  -h, --help              this text`,
    options: { ...gateway, out: { type: 'string' } },
    operands: [],
  },
  diff: {
    synopsis: 'npm run policy -- diff <file> [--gateway <url>]',
    help: `
Shows what proposing <file> would change against the current revision, without filing anything:
the structural diff (teams, members, rules, roles, limits), the exhaustive access diff (every
team x role x action x ownership case decided differently) and whether the change widens access,
so that it would need a second admin. Computed here, as the gateway computes it for a proposal.

  <file>                  the edited policy document
${GATEWAY_HELP}
  -h, --help              this text`,
    options: gateway,
    operands: ['<file>'],
  },
  propose: {
    synopsis:
      'npm run policy -- propose <file> --reason <text> [--base <revision>] [--gateway <url>]',
    help: `
Files <file> as a proposal on its base revision and prints the proposal's id, whether it applied
at once (it does not widen access) or waits for a second admin (and why), and the diff's summary.
Refused when the base is no longer the current revision: pull again and redo the edit.

  <file>                  the edited policy document
  --reason <text>         why (recorded in the audit log with the change)
  --base <revision>       the revision the edit was made on (default: <file>.base, written by pull)
${GATEWAY_HELP}
  -h, --help              this text`,
    options: { ...gateway, reason: { type: 'string' }, base: { type: 'string' } },
    operands: ['<file>'],
  },
  'what-if': {
    synopsis: 'npm run policy -- what-if <proposal-id> [--since <date>] [--gateway <url>]',
    help: `
Replays the audit log's recorded requests since <date> (default: 30 days ago) under the proposal
and prints what would be decided differently, per team and action, with sample request ids, and
what could not be replayed.

  <proposal-id>           the proposal (as propose printed it)
  --since <date>          start of the window, ISO 8601 (2026-11-01 or 2026-11-01T12:00:00Z)
${GATEWAY_HELP}
  -h, --help              this text`,
    options: { ...gateway, since: { type: 'string' } },
    operands: ['<proposal-id>'],
  },
  apply: {
    synopsis: 'npm run policy -- apply <proposal-id> [--gateway <url>]',
    help: `
Approves a pending proposal as the second admin: it is applied at once, exactly once, and becomes
the current revision. Refused to the proposal's author, for a closed proposal, and when its base
is no longer current.

  <proposal-id>           the pending proposal
${GATEWAY_HELP}
  -h, --help              this text`,
    options: gateway,
    operands: ['<proposal-id>'],
  },
} as const

type CommandName = keyof typeof COMMANDS

const TOOL = {
  name: NAME,
  synopsis: `npm run policy -- <${Object.keys(COMMANDS).join('|')}> ... (<command> --help for each)`,
}
const TOOL_HELP = `
The policy's review flow from a shell, for teams who keep the policy in git (managed mode):

  pull [--out <file>]                       the current revision's document and id
  diff <file>                               what <file> would change, filing nothing
  propose <file> --reason <text>            file <file> as a proposal on its base
  what-if <proposal-id> [--since <date>]    replay the audit log under a proposal
  apply <proposal-id>                       approve a pending proposal (the second admin)

${GATEWAY_HELP}
  -h, --help              this text; <command> --help for a command's

${KEY_HELP}

${EXIT_HELP}`

const args = process.argv.slice(2)
const first = args[0]
if (first === undefined || first === '--help' || first === '-h') {
  if (first === undefined) misuse(TOOL, 'name a command')
  process.stdout.write(`usage: ${TOOL.synopsis}\n\n${TOOL_HELP.trim()}\n`)
  process.exit(0)
}
if (!(first in COMMANDS)) misuse(TOOL, `unknown command '${first}'`)
const name = first as CommandName
const spec = COMMANDS[name]
const command: Command<typeof spec.options> = {
  name: `${NAME} ${name}`,
  synopsis: spec.synopsis,
  help: `${spec.help}\n\n${KEY_HELP}\n\n${EXIT_HELP}`,
  options: spec.options,
  allowPositionals: true,
}
const { positionals, values } = readCommandLine(command, args.slice(1))
const options = values as {
  gateway?: string
  out?: string
  reason?: string
  base?: string
  since?: string
}
if (positionals.length !== spec.operands.length) {
  misuse(
    command,
    spec.operands.length === 0
      ? `takes no operands (got ${positionals.length})`
      : `give ${spec.operands.join(' ')} (got ${positionals.length} operands)`,
  )
}
const operand = positionals[0] ?? ''

const base = options.gateway ?? process.env.MTLSGW_URL
if (!base) misuse(command, 'give --gateway <url> or set MTLSGW_URL')
if (!URL.canParse(base)) misuse(command, `--gateway: not a URL: ${base}`)
const key = process.env.MTLSGW_KEY
if (!key) misuse(command, 'set MTLSGW_KEY to your gateway key (never an argument)')

interface Envelope {
  success: boolean
  errors: { code: number; message: string; source?: { pointer: string } }[]
  result: unknown
}

/** One call of the gateway: its `result`, or exit 1 with each of its errors (code and message). */
async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const url = `${base!.replace(/\/+$/, '')}${path}`
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  }).catch((error: Error) => fail(`cannot reach ${base}: ${String(error.cause ?? error)}`))
  const envelope = (await response
    .json()
    .catch(() =>
      fail(`${base} answered ${response.status} without JSON: is it the gateway?`),
    )) as Envelope
  if (!envelope.success) {
    for (const error of envelope.errors) {
      const where = error.source ? ` (${error.source.pointer})` : ''
      process.stderr.write(
        `${command.name}: ${response.status} ${error.code}: ${error.message}${where}\n`,
      )
    }
    process.exit(1)
  }
  return envelope.result as T
}

function fail(problem: string): never {
  process.stderr.write(`${command.name}: ${problem}\n`)
  process.exit(1)
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    return fail(`cannot read ${file}: ${(error as Error).message}`)
  }
}

interface Current {
  id: string
  mode: 'managed' | 'pinned'
  document: Record<string, unknown>
}
const current = () => call<Current>('GET', '/gateway/v1/policy?limit=1')

/** Canonical (keys sorted, as the revision's id is computed), indented for a reviewer's diff. */
const pretty = (document: unknown) =>
  `${JSON.stringify(JSON.parse(canonical(document)), null, 2)}\n`

/** A diff as a reviewer reads it: the summary, why it widens, what changed, the access cases. */
function printDiff(
  diff: Pick<PolicyDiff, 'structural' | 'widening'> & { access: PolicyDiff['access'] },
) {
  const s = diff.structural
  for (const [part, delta] of [
    ['teams', s.teams],
    ['members', s.members],
    ['rules', s.rules],
  ] as const) {
    for (const id of delta.added) console.log(`  + ${part.slice(0, -1)} ${id}`)
    for (const id of delta.removed) console.log(`  - ${part.slice(0, -1)} ${id}`)
    for (const id of delta.changed) console.log(`  ~ ${part.slice(0, -1)} ${id}`)
  }
  for (const role of s.roles.added) console.log(`  + role ${role}`)
  for (const role of s.roles.removed) console.log(`  - role ${role}`)
  for (const leaf of s.limits)
    console.log(
      `  ~ ${leaf.pointer}: ${JSON.stringify(leaf.before)} -> ${JSON.stringify(leaf.after)}`,
    )
  const { differences } = diff.access
  for (const d of differences.slice(0, LISTED)) {
    const who = 'team' in d.subject ? `${d.subject.team}/${d.subject.role}` : d.subject.member
    const what = [d.owner, d.ca === undefined ? '' : d.ca ? 'CA' : 'leaf'].filter(Boolean).join(' ')
    console.log(`  ${d.change}: ${who} ${d.action} (${what}): ${d.before} -> ${d.after}`)
  }
  const total = Object.values(diff.access.counts).reduce((a, b) => a + b, 0)
  if (total > Math.min(differences.length, LISTED))
    console.log(`  ... and ${total - Math.min(differences.length, LISTED)} more access differences`)
  if (diff.widening.length > 0) {
    console.log('widening (needs a second admin):')
    for (const reason of diff.widening) console.log(`  ${reason}`)
  } else console.log('not widening: applies at once')
}

function readDocument(file: string): unknown {
  const text = readText(file)
  try {
    return JSON.parse(text)
  } catch (error) {
    return fail(`${file}: not JSON: ${(error as Error).message}`)
  }
}

function parsed(label: string, document: unknown): Policy {
  const result = parsePolicy(JSON.stringify(document))
  if (result.ok) return result.policy
  for (const p of result.problems) process.stderr.write(`${label}#${p.pointer}: ${p.message}\n`)
  return fail(`${label}: ${result.problems.length} problem(s); the gateway would refuse it`)
}

const proposalPath = (id: string) => `/gateway/v1/policy/proposals/${encodeURIComponent(id)}`

interface Proposal {
  id: string
  status: string
  base: string
  revision: { id: string }
  widening: string[]
  summary: string
}

switch (name) {
  case 'pull': {
    const { id, mode, document } = await current()
    if (options.out === undefined) {
      process.stdout.write(pretty(document))
      process.stderr.write(`revision ${id} (${mode})\n`)
    } else {
      writeFileSync(options.out, pretty(document))
      writeFileSync(`${options.out}.base`, `${id}\n`)
      console.log(`${options.out}: revision ${id} (${mode}); base written to ${options.out}.base`)
    }
    break
  }
  case 'diff': {
    const local = parsed(operand, readDocument(operand))
    const { id, document } = await current()
    const diff = policyDiff(parsed(`revision ${id}`, document), local, new Date())
    console.log(`${operand} against revision ${id}: ${summaryOf(diff)}`)
    printDiff(diff)
    break
  }
  case 'propose': {
    if (!options.reason) misuse(command, 'give --reason <text> (it is recorded with the change)')
    const document = readDocument(operand)
    let on = options.base
    if (on === undefined) {
      try {
        on = readFileSync(`${operand}.base`, 'utf8').trim()
      } catch {
        misuse(command, `give --base <revision>, or pull with --out ${operand} to record it`)
      }
    }
    const report = await call<{ proposal: Proposal; diff: Parameters<typeof printDiff>[0] }>(
      'POST',
      '/gateway/v1/policy/proposals',
      { base: on, document, reason: options.reason },
    )
    const { proposal } = report
    console.log(`proposal ${proposal.id}: ${proposal.status}`)
    if (proposal.status === 'applied') console.log(`current revision: ${proposal.revision.id}`)
    else
      console.log(
        `waits for a second admin: npm run policy -- apply ${proposal.id} (see what-if first)`,
      )
    console.log(proposal.summary)
    printDiff(report.diff)
    break
  }
  case 'what-if': {
    let since = ''
    if (options.since !== undefined) {
      const at = new Date(options.since)
      if (Number.isNaN(at.getTime())) misuse(command, `--since: not a date: ${options.since}`)
      since = `?since=${encodeURIComponent(at.toISOString())}`
    }
    const replay = await call<{
      since: string
      until: string
      complete: boolean
      replayed_from: string | null
      entries: number
      replayed: number
      unchanged: number
      not_replayable: Record<string, number>
      changes: {
        team: string
        action: string
        from: string
        to: string
        count: number
        samples: string[]
      }[]
    }>('GET', `${proposalPath(operand)}/what-if${since}`)
    console.log(`proposal ${operand}: ${replay.since} to ${replay.until}`)
    console.log(
      `${replay.entries} entries, ${replay.replayed} replayed, ${replay.unchanged} unchanged, ` +
        `${replay.changes.reduce((n, c) => n + c.count, 0)} would change`,
    )
    for (const c of replay.changes)
      console.log(
        `  ${c.team} ${c.action}: ${c.from} -> ${c.to} x${c.count} (e.g. ${c.samples.join(', ')})`,
      )
    const skipped = Object.entries(replay.not_replayable).filter(([, n]) => n > 0)
    if (skipped.length > 0)
      console.log(`not replayable: ${skipped.map(([why, n]) => `${why} ${n}`).join(', ')}`)
    if (!replay.complete)
      console.log(
        `incomplete: the window held more than a replay reads (from ${replay.replayed_from})`,
      )
    break
  }
  case 'apply': {
    const proposal = await call<Proposal>('POST', `${proposalPath(operand)}/approve`)
    console.log(`proposal ${proposal.id}: ${proposal.status}`)
    console.log(`current revision: ${proposal.revision.id}`)
    break
  }
}
