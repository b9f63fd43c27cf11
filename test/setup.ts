/**
 * Runs in every test file of the gateway project: after the file, nothing it made the gateway
 * write to the audit log may hold a secret (token, keys, private keys, PEMs, Access tokens).
 */
import { afterAll } from 'vitest'
import { expectNoSecretsInAudit } from './support/audit'

afterAll(async () => {
  await expectNoSecretsInAudit([], { requireEntries: false })
})
