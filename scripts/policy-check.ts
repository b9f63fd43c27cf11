/**
 * `npm run policy:check -- <policy.json> [--upstream <base url>]`: checks a policy document the way
 * the gateway does at start-up, so CI can refuse a broken policy before it is deployed. Prints each
 * problem with its JSON pointer and exits 1; prints a summary and exits 0 when the policy is valid.
 */
import { readFileSync } from 'node:fs'
import { demoPolicyFrontsCloudflare } from '../src/policy/demo'
import { parsePolicy } from '../src/policy/document'
import { misuse, readCommandLine } from './command-line'

const command = {
  name: 'policy:check',
  synopsis: 'npm run policy:check -- <policy.json> [--upstream <base url>]',
  help: `
Checks a policy document as the gateway does when it starts: every problem is printed with its
JSON pointer (file#/pointer: message), so CI can refuse a broken policy before it is deployed.

  <policy.json>           the policy document to check
  --upstream <base url>   the upstream the gateway will front (default: Cloudflare's API); the
                          demo policy is refused in front of the real one
  -h, --help              this text

Exit status: 0 when the policy is valid, 1 when it has problems or cannot be read, 2 when the
arguments are wrong.`,
  options: { upstream: { type: 'string', default: 'https://api.cloudflare.com/client/v4' } },
  allowPositionals: true,
} as const

const { positionals, values } = readCommandLine(command)
if (positionals.length !== 1)
  misuse(command, `give exactly one policy file (got ${positionals.length})`)
const file = positionals[0]!

let text: string
try {
  text = readFileSync(file, 'utf8')
} catch (error) {
  console.error(`${file}: cannot read: ${(error as Error).message}`)
  process.exit(1)
}

const result = parsePolicy(text)
if (!result.ok) {
  for (const problem of result.problems)
    console.error(`${file}#${problem.pointer}: ${problem.message}`)
  console.error(
    `${file}: ${result.problems.length} problem(s); the gateway would refuse to serve with it`,
  )
  process.exit(1)
}
const { policy } = result
if (demoPolicyFrontsCloudflare(policy, values.upstream)) {
  console.error(
    `${file}: this is the demo policy (published keys); the gateway refuses it in front of ${values.upstream}`,
  )
  process.exit(1)
}
const shadow = policy.rules.filter((r) => r.mode === 'shadow').length
console.log(
  `${file}: valid: ${policy.teams.length} teams, ${policy.members.length} members, ` +
    `${policy.rules.length} rules (${shadow} in shadow mode)`,
)
