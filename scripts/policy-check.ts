/**
 * `npm run policy:check -- <policy.json> [--upstream <base url>]`: checks a policy document the way
 * the gateway does at start-up, so CI can refuse a broken policy before it is deployed. Prints each
 * problem with its JSON pointer and exits 1; prints a summary and exits 0 when the policy is valid.
 */
import { readFileSync } from 'node:fs'
import { demoPolicyFrontsCloudflare } from '../src/policy/demo'
import { parsePolicy } from '../src/policy/document'
import { misuse, readCommandLine } from './command-line'

/** What a Worker secret or variable may hold (Cloudflare's Workers limits page: 5 KB). */
const SECRET_LIMIT_BYTES = 5 * 1024
/** What one member with a key adds to the compacted document (the demo's average). */
const MEMBER_BYTES = 135

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

It warns when the compacted document passes 80 % of the 5 KB (5,120 bytes) a Worker secret may
hold, and refuses one over it.

Exit status: 0 when the policy is valid, 1 when it has problems, cannot be read or is too large
for a secret, 2 when the arguments are wrong.`,
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
    `${file}: this is the demo policy (published keys); the gateway refuses it in front of ${values.upstream}: ` +
      'write your own with your teams and mint each member a key with `npm run key -- --policy <file>`',
  )
  process.exit(1)
}
const shadow = policy.rules.filter((r) => r.mode === 'shadow').length
console.log(
  `${file}: valid: ${policy.teams.length} teams, ${policy.members.length} members, ` +
    `${policy.rules.length} rules (${shadow} in shadow mode)`,
)

// A Worker secret or variable holds at most 5 KB (Cloudflare's Workers limits); the gateway is
// given the document as the POLICY secret, compacted as `wrangler secret put` would store it.
const bytes = new TextEncoder().encode(JSON.stringify(JSON.parse(text))).length
const headroom = SECRET_LIMIT_BYTES - bytes
if (headroom < 0) {
  console.error(
    `${file}: ${bytes} bytes compacted, over the ${SECRET_LIMIT_BYTES} a Worker secret may hold; ` +
      'Cloudflare will refuse it as the POLICY secret',
  )
  process.exit(1)
}
if (bytes >= SECRET_LIMIT_BYTES * 0.8) {
  console.warn(
    `${file}: warning: ${bytes} of the ${SECRET_LIMIT_BYTES} bytes a Worker secret may hold ` +
      `(compacted); about ${Math.floor(headroom / MEMBER_BYTES)} more keyed members fit`,
  )
}
