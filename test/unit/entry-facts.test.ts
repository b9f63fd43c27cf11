/**
 * The console's entry page shows the structured fields of a certificate's life and of a member
 * key's change as sentences (console/entry-facts.tsx), never as "[object Object]", and never a key.
 */
import { describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { EntryFacts } from '../../src/console/entry-facts'

const base = {
  time: '2026-12-07T12:00:00.000Z',
  id: '01a25000-0000-7000-8000-000000000000',
  kind: 'request',
  request_id: '01a25000-0000-7000-8000-000000000000',
  latency_ms: 1,
  upstream_attempts: 0,
  outcome: { class: 'allowed', status: 200, error_codes: [] },
} as unknown as AuditEntry

const shown = (entry: Partial<AuditEntry>) =>
  String(EntryFacts({ entry: { ...base, ...entry } as AuditEntry }))

describe("the entry page's structured fields", () => {
  it('reads a drift entry as the change and who made it', () => {
    const html = shown({
      lifecycle: {
        certificate_id: '3f1c0c8e-9d5a-4a57-9d0b-3b1c2c7d9e10',
        horizon: 'vanished',
        actor: { context: 'dashboard', email: 'ops@example.com' },
      },
    })
    expect(html).toContain('Certificate lifecycle')
    expect(html).toContain('vanished')
    expect(html).toContain('by ops@example.com (dashboard)')
    expect(html).not.toContain('[object Object]')
  })

  it('reads a notice with its channel, delivery and expiry', () => {
    const html = shown({
      lifecycle: {
        certificate_id: '3f1c0c8e-9d5a-4a57-9d0b-3b1c2c7d9e10',
        horizon: '14d',
        channel: 'payments-hook',
        delivery: 'delivered',
        attempts: 2,
        expires_on: '2026-12-17T00:00:00Z',
      },
    })
    expect(html).toContain('14d')
    expect(html).toContain('to payments-hook: delivered after 2 attempt(s)')
    expect(html).toContain('expires 2026-12-17T00:00:00Z')
  })

  it('reads a failed attempt with its reason and when the next is due', () => {
    const html = shown({
      lifecycle: {
        certificate_id: '3f1c0c8e-9d5a-4a57-9d0b-3b1c2c7d9e10',
        horizon: '14d',
        channel: 'payments-hook',
        delivery: 'failed',
        attempts: 1,
        reason: 'status 500',
        next_attempt_at: '2026-12-07T12:01:00.000Z',
      },
    })
    expect(html).toContain('to payments-hook: failed (attempt 1)')
    expect(html).toContain('status 500')
    expect(html).toContain('next attempt 2026-12-07T12:01:00.000Z')
  })

  it('reads a key rotation as the key ids and times, never a key', () => {
    const html = shown({
      key_change: {
        verb: 'rotate',
        key_id: '7b0c1f7e-4a3b-4c1d-9e2f-0a1b2c3d4e5f',
        member: 'dana',
        team: 'payments',
        roles: ['developer'],
        expires_at: '2027-03-07T12:00:00.000Z',
        replaced_key_id: '5d2e3f4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a',
        replaced_until: '2026-12-08T12:00:00.000Z',
      },
    })
    expect(html).toContain('Key change')
    expect(html).toContain('rotate')
    expect(html).toContain('for dana (payments: developer)')
    expect(html).toContain('5d2e3f4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a')
    expect(html).toContain('works until 2026-12-08T12:00:00.000Z')
    expect(html).not.toContain('mtlsgw_')
  })
})
