/**
 * Runs in every test file of the gateway project: each test starts with the token's whole budget
 * and the breaker closed (as each resets the emulator), and after the file, nothing it made the
 * gateway write to the audit log may hold a secret (token, keys, private keys, PEMs, Access tokens).
 */
import { afterAll, beforeEach } from 'vitest'
import { expectNoSecretsInAudit } from './support/audit'
import { resetBudget } from './support/coordinator'

beforeEach(async () => {
  await resetBudget()
})

// The scan reads every key the file wrote, one get() each: after a file that seeds thousands of
// entries (review.test.ts writes about 8,600 keys) it takes 7 s or more on a loaded 2-core machine.
afterAll(async () => {
  await expectNoSecretsInAudit([], { requireEntries: false })
}, 60_000)
