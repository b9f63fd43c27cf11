/**
 * `npm run key -- --member <id> --team <team> --role <role> [--role <role>...] [--expires <date>]`
 * mints a gateway key. The key is printed once, on stdout, and stored nowhere; the member entry to
 * paste into the policy (with the key's SHA-256, never the key) is printed after it.
 */
import { parseArgs } from 'node:util'
import { hashKey, mintKey } from '../src/identity/keys'

const { values } = parseArgs({
  options: {
    member: { type: 'string' },
    team: { type: 'string' },
    role: { type: 'string', multiple: true },
    expires: { type: 'string' },
  },
})
const { member, team, role: roles, expires } = values
if (member === undefined || team === undefined || roles === undefined || roles.length === 0) {
  console.error(
    'usage: npm run key -- --member <id> --team <team> --role <role> [--role ...] [--expires <ISO date>]',
  )
  process.exit(2)
}
if (expires !== undefined && Number.isNaN(Date.parse(expires))) {
  console.error(`--expires: not a date: ${expires}`)
  process.exit(2)
}

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
