/**
 * Policy variants for tests that need other rules than the suite's: built in the Worker with the
 * same hashing the gateway uses, so the keys in identities.ts keep working.
 */
import { hashKey } from '../../src/identity/keys'
import { MEMBERS, RULES, buildPolicy } from './identities'

export async function policyWith(rules: unknown[] = RULES): Promise<string> {
  const hashes = new Map(
    await Promise.all(MEMBERS.map(async (m) => [m.key, await hashKey(m.key)] as const)),
  )
  return JSON.stringify(buildPolicy((key) => hashes.get(key)!, rules))
}
