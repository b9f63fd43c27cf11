/**
 * Issue 22 (review-audit): an audit entry read as a sentence. Who did what to which certificate,
 * decided by which rule under which policy revision; a refused approval never reads "approved by",
 * and every code is given its meaning.
 */
import { describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { decidedBy, meaningOf, partiesOf, sentenceOf } from '../../src/console/entry-sentence'

const CERT = '0f8e2b8a-1c2d-4e5f-8a9b-0c1d2e3f4a5b'
const base = (over: Partial<AuditEntry>): AuditEntry => ({
  kind: 'request',
  id: 'x',
  time: '2026-12-01T10:00:00.000Z',
  member: 'admin',
  team: 'platform',
  action: 'delete',
  certificate_id: CERT,
  certificate_name: 'orders-ca',
  certificate_ca: true,
  certificate_team: 'identity',
  outcome: { class: 'allowed', status: 200, error_codes: [] },
  upstream_attempts: 1,
  ...over,
})

describe('an entry as a sentence', () => {
  it('names who deleted which certificate, approving whose request', () => {
    const e = base({ approval: { id: 'a1', requested_by: 'bob', approved_by: 'admin' } })
    expect(sentenceOf(e)).toBe(
      `admin (platform) deleted "orders-ca" (CA of identity, ${CERT}), approving the request of bob.`,
    )
    expect(partiesOf(e)).toBe('requested by bob, approved by admin')
  })

  it('says a parked delete deleted nothing, and a refused approval is no approval', () => {
    const parked = base({
      member: 'bob',
      team: 'identity',
      approval: { id: 'a1', requested_by: 'bob', reason: 'rotated' },
      outcome: { class: 'parked', status: 403, error_codes: [18309] },
    })
    expect(sentenceOf(parked)).toMatch(
      /^bob \(identity\) asked to delete "orders-ca" .*nothing was deleted/,
    )
    expect(partiesOf(parked)).toBe('requested by bob')

    const selfApproval = base({
      member: 'bob',
      action: 'approve',
      approval: { id: 'a1', requested_by: 'bob', approved_by: 'bob' },
      outcome: { class: 'denied', status: 403, error_codes: [18305] },
    })
    expect(sentenceOf(selfApproval)).toMatch(
      /^bob \(platform\) tried to approve the delete of "orders-ca".* and was refused\.$/,
    )
    expect(partiesOf(selfApproval)).toBe('requested by bob, approval refused by bob')
    expect(`${sentenceOf(selfApproval)} ${partiesOf(selfApproval)}`).not.toContain('approved by')
  })

  it('names the deciding rule and the policy revision, or the default deny', () => {
    const revision = 'ab'.repeat(32)
    expect(
      decidedBy(
        base({
          decision: { effect: 'allow', rule_ids: ['admins-anything'] },
          policy_revision: revision,
        }),
      ),
    ).toBe(`Allowed by rule admins-anything under policy revision ${revision.slice(0, 12)}.`)
    expect(decidedBy(base({ decision: { effect: 'deny', rule_ids: [] } }))).toBe(
      'Denied by default: no rule allows it.',
    )
    expect(decidedBy(base({}))).toBe('No policy rule was asked.')
  })

  it('gives each code its meaning: the gateway’s from its table, Cloudflare’s as relayed', () => {
    expect(meaningOf(18301)).toBe('Denied by policy')
    expect(meaningOf(9999)).toBe("Cloudflare's own error code")
  })

  it('reads a read and an unauthenticated attempt too', () => {
    expect(
      sentenceOf(base({ action: 'list', certificate_id: undefined, certificate_name: undefined })),
    ).toBe('admin (platform) listed the certificates.')
    expect(
      sentenceOf(
        base({
          member: undefined,
          team: undefined,
          outcome: { class: 'unauthenticated', error_codes: [18001] },
        }),
      ),
    ).toMatch(/^Someone who could not be authenticated tried to delete "orders-ca"/)
  })
})
