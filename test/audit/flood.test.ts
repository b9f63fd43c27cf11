/**
 * A flood of requests without a valid key cannot spend the audit log's KV writes: a burst is
 * recorded one by one, the rest are counted and recorded as one summary once the budget allows.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { anonymousBudget, BURST, REFILL_MS } from '../../src/audit/flood-guard'
import { expectNoSecretsInAudit, newEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { call, certificatesUrl } from '../support/gateway'
import { KEYS } from '../support/identities'
import { counting } from '../support/kv'

let offset = 0

beforeEach(async () => {
  await emulator.reset()
  offset = 0
  anonymousBudget.clock = () => Date.now() + offset
  anonymousBudget.reset()
})

afterAll(async () => {
  anonymousBudget.clock = () => Date.now()
  await expectNoSecretsInAudit()
})

describe('an anonymous flood', () => {
  it('writes the burst, then nothing per request, then one summary of what it skipped', async () => {
    const { kv, calls } = counting()
    const flood = await newEntries(async () => {
      for (let i = 0; i < 100; i++) {
        await call(certificatesUrl(), { key: i % 2 ? null : 'Bearer nonsense', env: { AUDIT: kv } })
      }
    })
    expect(flood).toHaveLength(BURST)
    expect(flood.every((e) => e.outcome.class === 'unauthenticated')).toBe(true)
    expect(calls.put).toBe(BURST) // anonymous entries have no index keys: one write each

    // A valid caller is never limited; the summary waits for a token.
    const authenticated = await newEntries(() => call(certificatesUrl(), { key: KEYS.alice }))
    expect(authenticated).toMatchObject([{ member: 'alice' }])

    offset += REFILL_MS
    const later = await newEntries(() => call(certificatesUrl(), { key: KEYS.alice }))
    const summary = later.find((e) => e.kind === 'suppressed')
    expect(later).toHaveLength(2)
    expect(summary).toMatchObject({
      outcome: { class: 'unauthenticated' },
      suppressed: { count: 100 - BURST, error_codes: { 18001: 45, 18002: 45 } },
    })
  })

  it('is reported to reviewers like any entry', async () => {
    for (let i = 0; i < BURST + 3; i++) await call(certificatesUrl(), { key: null })
    offset += REFILL_MS
    await call(certificatesUrl(), { key: null })
    const response = await call('https://gateway.test/gateway/v1/audit?outcome=unauthenticated', {
      key: KEYS.auditor,
    })
    const { result } = (await response.json()) as {
      result: { kind: string; suppressed?: { count: number } }[]
    }
    expect(result.filter((e) => e.kind === 'suppressed').map((e) => e.suppressed!.count)).toContain(
      3,
    )
  })
})
