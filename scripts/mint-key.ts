/**
 * `npm run key -- --member <id> --team <team> --role <role> [--role <role>...] [--expires <date>]`
 * mints a gateway key. The key is printed once, on stdout, and stored nowhere; the member entry to
 * paste into the policy (with the key's SHA-256, never the key) is printed after it.
 */
import { hashKey, mintKey } from '../src/identity/keys'
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
  --expires <date>  optional: when the key stops working (ISO 8601, e.g. 2027-06-30)
  -h, --help        this text

Exit status: 0 when a key was minted, 2 when the arguments are wrong.`,
  options: {
    member: { type: 'string' },
    team: { type: 'string' },
    role: { type: 'string', multiple: true },
    expires: { type: 'string' },
  },
} as const

const { values } = readCommandLine(command)
const { member, team, role: roles = [], expires } = values
const missing = [
  member === undefined && '--member',
  team === undefined && '--team',
  roles.length === 0 && '--role',
].filter(Boolean)
if (missing.length > 0) misuse(command, `missing ${missing.join(', ')}`)
if (expires !== undefined && Number.isNaN(Date.parse(expires)))
  misuse(command, `--expires: not a date: ${expires}`)

const key = mintKey()
const entry = {
  id: member,
  team,
  roles,
  key_sha256: await hashKey(key),
  ...(expires !== undefined ? { expires_at: new Date(expires).toISOString() } : {}),
}
console.log(`Key for ${member} (shown once; give it to them, store it nowhere else):\n\n  ${key}\n`)
console.log(`Member entry for the policy's "members" list:\n\n${JSON.stringify(entry, null, 2)}`)
