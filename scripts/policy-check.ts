/**
 * `npm run policy:check -- <policy.json> [--upstream <base url>]`: checks a policy document the way
 * the gateway does at start-up, so CI can refuse a broken policy before it is deployed. Prints each
 * problem with its JSON pointer and exits 1; prints a summary and exits 0 when the policy is valid.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { demoPolicyFrontsCloudflare } from '../src/policy/demo'
import { parsePolicy } from '../src/policy/document'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { upstream: { type: 'string', default: 'https://api.cloudflare.com/client/v4' } },
})
const [file] = positionals
if (file === undefined || positionals.length !== 1) {
  console.error('usage: npm run policy:check -- <policy.json> [--upstream <base url>]')
  process.exit(2)
}

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
