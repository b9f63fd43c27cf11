/**
 * `npm run key -- --member <id> --team <team> --role <role> [--role <role>...] [--expires <date>]
 * [--policy <file>]` mints a gateway key. The key is printed once, on stdout, and stored nowhere;
 * the member entry to paste into the policy (with the key's SHA-256, never the key) is printed
 * after it. Nothing is minted for an entry the gateway would refuse: ids are checked as the
 * policy checks them, an expiry must be in the future, and with `--policy` the whole document
 * with the entry added (or, for a member it holds, its key replaced) must pass `policy:check`.
 */
import { readFileSync } from 'node:fs'
import { hashKey, mintKey } from '../src/identity/keys'
import { slug } from '../src/lib/ids'
import { parsePolicy } from '../src/policy/document'
import { misuse, readCommandLine } from './command-line'

const command = {
  name: 'key',
  synopsis:
    'npm run key -- --member <id> --team <team> --role <role> [--role <role>...] [--expires <date>]',
  help: `
Mints a gateway key for one member of one team. The key is printed once, on stdout, and stored
nowhere; then the member entry for the policy's "members" list, which holds only its SHA-256.

  --member <id>     the member's id in the policy
  --team <team>     the team the member belongs to
  --role <role>     a role of the member; repeat for more than one
  --expires <date>  optional: when the key stops working (ISO 8601, e.g. 2027-06-30); in the future
  --policy <file>   optional: check the entry against this policy document (the team exists, the
                    document with the entry in it is valid); a member it holds gets a new key
  -h, --help        this text

Ids are 1-63 lowercase letters, digits, ".", "_" or "-", as in the policy.

Exit status: 0 when a key was minted, 1 when the entry does not fit the policy given, 2 when the
arguments are wrong.`,
  options: {
    member: { type: 'string' },
    team: { type: 'string' },
    role: { type: 'string', multiple: true },
    expires: { type: 'string' },
    policy: { type: 'string' },
  },
} as const

const { values } = readCommandLine(command)
const { member, team, role: roles = [], expires, policy: policyFile } = values
const missing = [
  member === undefined && '--member',
  team === undefined && '--team',
  roles.length === 0 && '--role',
].filter(Boolean)
if (missing.length > 0 || member === undefined || team === undefined) {
  misuse(command, `missing ${missing.join(', ')}`)
}
const id = slug()
for (const [flag, value] of [
  ['--member', member],
  ['--team', team],
  ...roles.map((r) => ['--role', r]),
]) {
  const checked = id.safeParse(value)
  if (!checked.success) misuse(command, `${flag} ${value}: ${checked.error.issues[0]?.message}`)
}
if (expires !== undefined) {
  if (Number.isNaN(Date.parse(expires))) misuse(command, `--expires: not a date: ${expires}`)
  if (Date.parse(expires) <= Date.now()) {
    misuse(command, `--expires: ${expires} is in the past; the key would never work`)
  }
}

const key = mintKey()
const entry = {
  id: member,
  team,
  roles,
  key_sha256: await hashKey(key),
  ...(expires !== undefined ? { expires_at: new Date(expires).toISOString() } : {}),
}

let replacing = false
if (policyFile !== undefined) {
  let document: { members?: { id?: unknown }[] }
  try {
    document = JSON.parse(readFileSync(policyFile, 'utf8')) as typeof document
  } catch (error) {
    console.error(`${policyFile}: cannot read: ${(error as Error).message}`)
    process.exit(1)
  }
  const members = Array.isArray(document.members) ? document.members : []
  const at = members.findIndex((m) => m.id === member)
  replacing = at >= 0
  const withEntry = replacing
    ? members.map((m, i) => (i === at ? { ...m, ...entry } : m))
    : [...members, entry]
  const checked = parsePolicy(JSON.stringify({ ...document, members: withEntry }))
  if (!checked.ok) {
    for (const problem of checked.problems) {
      console.error(`${policyFile}#${problem.pointer}: ${problem.message}`)
    }
    console.error(`${policyFile}: with this entry the policy would be refused; no key minted`)
    process.exit(1)
  }
}

console.log(`Key for ${member} (shown once; give it to them, store it nowhere else):\n\n  ${key}\n`)
console.log(
  replacing
    ? `Member ${member} is in ${policyFile}: replace its entry (its key_sha256) with:\n\n${JSON.stringify(entry, null, 2)}`
    : `Member entry for the policy's "members" list:\n\n${JSON.stringify(entry, null, 2)}`,
)
