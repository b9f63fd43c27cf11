/**
 * The pure parts of the audit page: the filter form read as the review API's query, and the
 * chart's buckets. A wrong bucket or a zone read as local time would show reviewers a different
 * picture from the one the log holds.
 */
import { describe, expect, it } from 'vitest'
import type { AuditEntry, OutcomeClass } from '../../src/audit/entry'
import { bucketize } from '../../src/console/audit-chart'
import { queryOf } from '../../src/audit/review'
import { formToQuery, readAuditForm } from '../../src/console/audit-form'

const entry = (time: number, outcome: OutcomeClass): AuditEntry => ({
  kind: 'request',
  id: `${time}`,
  time: new Date(time).toISOString(),
  outcome: { class: outcome, error_codes: [] },
  upstream_attempts: 0,
})

describe('the audit filter form', () => {
  it('drops empty fields and reads datetime-local values as UTC', () => {
    expect(
      formToQuery({
        from: '2026-11-30T08:15',
        to: '2026-11-30T09:00:30',
        team: '',
        member: ' alice ',
      }),
    ).toEqual({ from: '2026-11-30T08:15:00Z', to: '2026-11-30T09:00:30Z', member: 'alice' })
  })

  it('refuses what the review API refuses, naming the field', () => {
    const read = readAuditForm({
      outcome: 'lost',
      from: '2026-11-30T09:00',
      to: '2026-11-30T08:00',
    })
    expect(read.ok).toBe(false)
    if (!read.ok) {
      expect(read.problems.map((p) => p.pointer).sort()).toEqual(['/outcome'])
    }
    const reversed = readAuditForm({ from: '2026-11-30T09:00', to: '2026-11-30T08:00' })
    expect(reversed.ok ? [] : reversed.problems.map((p) => p.pointer)).toEqual(['/from'])
  })

  it('builds the store query the review API would: filters, range, limit', () => {
    const read = readAuditForm({ from: '2026-11-30T08:00', team: 'payments', limit: '25' })
    if (!read.ok) throw new Error('valid form refused')
    const now = Date.parse('2026-11-30T10:00:00Z')
    expect(queryOf(read.params, 365, now)).toMatchObject({
      team: 'payments',
      limit: 25,
      range: { from: Date.parse('2026-11-30T08:00:00Z'), to: now, endsNow: true },
    })
  })
})

describe('the activity chart', () => {
  const range = { from: 0, to: 24_000, endsNow: false }

  it('counts each entry once, in the slice of the range it falls in, by outcome', () => {
    const buckets = bucketize(
      [entry(0, 'allowed'), entry(999, 'denied'), entry(1000, 'allowed'), entry(24_000, 'pending')],
      range,
    )
    expect(buckets).toHaveLength(24)
    expect(buckets[0]!.counts).toMatchObject({ allowed: 1, denied: 1 })
    expect(buckets[1]!.counts.allowed).toBe(1)
    // The range's last instant belongs to the last slice, not to a 25th.
    expect(buckets[23]!.counts.pending).toBe(1)
    expect(buckets.reduce((sum, b) => sum + b.total, 0)).toBe(4)
  })

  it('leaves out entries outside the range', () => {
    const buckets = bucketize([entry(-1, 'allowed'), entry(24_001, 'denied')], range)
    expect(buckets.every((b) => b.total === 0)).toBe(true)
  })
})
