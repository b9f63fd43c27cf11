/**
 * One schema per record: the audit entry's zod schema (audit/entry.ts) is what the OpenAPI
 * document, the CSV export and the entries themselves agree on. Each test here fails when one of
 * them drifts from it: a field missing from the API description or the export, a recorded field
 * the schema does not know (the schema is strict), verify's kinds described twice.
 */
import { env } from 'cloudflare:test'
import { coordinatedChains } from '../../src/coordinator/client'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  auditEntrySchema,
  entryFromFacts,
  suppressedEntry,
  type AuditEntry,
} from '../../src/audit/entry'
import { CSV_COLUMNS, LEGACY_COLUMN_NAMES, csvRow } from '../../src/audit/export'
import { eventKey, readEvent, tailOf, writeEntry } from '../../src/audit/store'
import { problemKindSchema, verifyPage, verifyReportSchema } from '../../src/audit/verify'
import type { RequestFacts } from '../../src/audit/record'
import auditorsGuide from '../../docs/auditors.md?raw'
import { makeCertificate } from '../kit/certificates'
import { auditEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { BASE, call, callJson, certificateUrl, certificatesUrl, upload } from '../support/gateway'
import { uuidv7 } from '../../src/lib/uuidv7'
import { ACCOUNT, AUDIT_SIGNING_KEY, KEYS } from '../support/identities'

const GATEWAY = BASE.replace('/client/v4', '') + '/gateway/v1'
const REQUEST_ID = '01a233be-14f1-7ebd-98de-25c517cdfc6f'
const CERT = '2458ce5a-0c35-4c7f-82c7-8e9487d3ff60'
const T0 = Date.UTC(2026, 3, 20, 12, 0, 0)

/** A request that touched every recorded field: who, what, decision with shadow, approval, adoption. */
function everyFact(): RequestFacts {
  return {
    requestId: REQUEST_ID,
    startedAt: T0,
    principal: { memberId: 'admin', teamId: 'platform', roles: ['admin'], via: 'key' },
    action: 'approve',
    accountId: ACCOUNT,
    certificateId: CERT,
    certificate: { name: 'ci-root', fingerprintSha256: 'f'.repeat(64), serialNumber: '01ab' },
    decision: {
      effect: 'allow',
      ruleIds: ['admins-anything'],
      reason: 'approve allowed by admins-anything',
      shadow: { effect: 'deny', ruleIds: ['freeze'], reason: 'approve denied by freeze' },
    },
    approval: {
      id: '7d6c2f9e-8a51-4b1e-9f0a-3c2d1e0f9a8b',
      requestedBy: 'bob',
      approvedBy: 'admin',
      reason: 'replaced by ci-root-2027',
    },
    adopted: [
      { certificate_id: CERT, team: 'payments' },
      { certificate_id: '023e105f4ecef8ad9ca31a8372d0c353', team: 'identity' },
    ],
    released: { certificate_id: CERT, team: 'payments' },
    quotaOverride: { team: 'payments', quota: 1, held: 1 },
    served: {
      via: 'snapshot',
      revision: 12,
      ageSeconds: 45,
      stale: true,
      cacheStatus: 'mtls-gateway; hit; ttl=-15; detail=revalidating',
    },
    policyRevision: 'e'.repeat(64), // issue 20
    policyChange: {
      proposal: '0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
      kind: 'apply',
      verdict: 'approve',
      before: 'd'.repeat(64),
      after: 'e'.repeat(64),
      summary: 'members +0 -0 ~1; widening',
    },
    subject: { name: 'ci-root', ca: true, ownerTeam: 'payments' },
    upstreamAttempts: 2,
    outcome: { status: 200, codes: [] },
  }
}

const complete = () => entryFromFacts(everyFact(), REQUEST_ID, T0, T0 + 42)
const suppressed = () =>
  suppressedEntry('01a233be-14f2-7ebd-98de-25c517cdfc6f', T0, {
    count: 3,
    first: new Date(T0).toISOString(),
    last: new Date(T0 + 5000).toISOString(),
    error_codes: { 0: 1, 18001: 2 },
  })

/**
 * Every leaf of a JSON value with its path; a list of objects gives one path per field. Empty lists
 * are left out: they have nothing to show in a cell.
 */
function leafPaths(value: unknown, path: string[] = []): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return []
    return value.some((item) => typeof item === 'object' && item !== null)
      ? [...new Set(value.flatMap((item) => leafPaths(item, path)))]
      : [path.join('.')]
  }
  if (typeof value === 'object' && value !== null && path.join('.') !== 'suppressed.error_codes') {
    return Object.entries(value).flatMap(([key, item]) => leafPaths(item, [...path, key]))
  }
  return [path.join('.')]
}

const columnOf = (path: string) => LEGACY_COLUMN_NAMES[path] ?? path.replaceAll('.', '_')

/** A CSV row as column name -> cell (the cells of these entries hold no quoted commas). */
function cells(entry: AuditEntry): Record<string, string> {
  const row = csvRow(entry).replace(/\r\n$/, '').split(',')
  expect(row).toHaveLength(CSV_COLUMNS.length)
  return Object.fromEntries(CSV_COLUMNS.map((name, i) => [name, row[i]!]))
}

describe('the schema and the entries the gateway builds', () => {
  it('accepts a complete entry, a pending one and a flood summary as they are built', () => {
    const pending = entryFromFacts({ ...everyFact(), outcome: undefined }, REQUEST_ID, T0, T0)
    for (const entry of [complete(), pending, suppressed()]) {
      expect(auditEntrySchema.parse(entry)).toEqual(entry)
    }
    expect(pending.outcome).toEqual({ class: 'pending', error_codes: [] })
  })

  it('knows every field a complete entry carries, nested ones included', () => {
    const entry = complete()
    expect(leafPaths(entry).sort()).toEqual(
      expect.arrayContaining([
        'approval.approved_by',
        'adopted.certificate_id',
        'adopted.team',
        'decision.reason',
        'decision.shadow.rule_ids',
        'fingerprint_sha256',
        'latency_ms',
      ]),
    )
  })

  it.each([
    ['a field at the top', (e: AuditEntry) => ({ ...e, token: 'x' })],
    ['a field in the decision', (e: AuditEntry) => ({ ...e, decision: { ...e.decision, x: 1 } })],
    ['a field in the approval', (e: AuditEntry) => ({ ...e, approval: { ...e.approval, x: 1 } })],
    [
      'a field in an adoption',
      (e: AuditEntry) => ({ ...e, adopted: [{ ...e.adopted![0]!, private_key: 'x' }] }),
    ],
    ['a field in the outcome', (e: AuditEntry) => ({ ...e, outcome: { ...e.outcome, x: 1 } })],
  ])('refuses %s it does not describe (so a new field cannot skip it)', (_, add) => {
    expect(auditEntrySchema.safeParse(add(complete())).success).toBe(false)
  })
})

describe('the OpenAPI description', () => {
  async function components() {
    const response = await call('https://gateway.test/openapi.json', { key: null })
    expect(response.status).toBe(200)
    const doc = (await response.json()) as {
      components: { schemas: Record<string, Schema> }
      paths: Record<string, { get: { responses: { 200: { content: Record<string, Schema> } } } }>
    }
    return doc
  }
  interface Schema {
    properties?: Record<string, Schema>
    items?: Schema
    required?: string[]
    enum?: string[]
    schema?: Schema
    additionalProperties?: boolean
  }

  it('describes every field of an entry, approval, adoption and decision reason included', async () => {
    const entry = (await components()).components.schemas.AuditEntry!
    expect(Object.keys(entry.properties!)).toEqual(Object.keys(auditEntrySchema.shape))
    expect(entry.additionalProperties).toBe(false)
    const { decision, approval, adopted } = entry.properties!
    expect(Object.keys(decision!.properties!)).toEqual(['effect', 'rule_ids', 'reason', 'shadow'])
    expect(Object.keys(approval!.properties!)).toEqual([
      'id',
      'requested_by',
      'approved_by',
      'reason',
    ])
    expect(approval!.required).toEqual(['id', 'requested_by'])
    expect(Object.keys(adopted!.items!.properties!)).toEqual(['certificate_id', 'team'])
    expect(entry.required).toEqual(['time', 'id', 'kind', 'outcome', 'upstream_attempts'])
  })

  it("lists verify's problem kinds as verify.ts defines them, each explained in the auditor's guide", async () => {
    const doc = await components()
    const ok =
      doc.paths['/gateway/v1/audit/verify']!.get.responses[200].content['application/json']!.schema!
    const problem = ok.properties!.result!.properties!.problems!.items!
    expect(problem.properties!.kind!.enum).toEqual(problemKindSchema.options)
    expect(problemKindSchema.options).toHaveLength(7)
    for (const kind of problemKindSchema.options) expect(auditorsGuide).toContain(`\`${kind}\``)
  })
})

describe("verify's report", () => {
  it('is described with every field a page can carry, unchecked index families included', async () => {
    // Two entries a day back, one of them edited; then a page with too few KV calls to read
    // every index family, so that the report carries problems, pending and unchecked families.
    const settings = { signingKey: AUDIT_SIGNING_KEY, retentionDays: 365 }
    const time = Date.now() - 86_400_000
    const written = [0, 1].map((i) =>
      entryFromFacts(
        {
          ...everyFact(),
          requestId: uuidv7(time - i),
          outcome: i ? undefined : everyFact().outcome,
        },
        uuidv7(time - i),
        time - i,
        time,
      ),
    )
    await Promise.all(written.map((entry) => writeEntry(env.AUDIT, entry, settings)))
    const tail = tailOf(time, written[0]!.id)
    const stored = (await readEvent(env.AUDIT, tail))!
    await env.AUDIT.put(eventKey(tail), stored.value.replace('platform', 'payments'), {
      metadata: stored.metadata,
    })
    const { cursor: _, ...report } = await verifyPage(env.AUDIT, {
      signingKey: AUDIT_SIGNING_KEY,
      range: { from: time - 10, to: time, endsNow: false },
      limit: 100,
      chains: { names: [], links: coordinatedChains(env.COORDINATOR, 365) },
    })
    expect(report.problems).toMatchObject([{ kind: 'altered' }])
    expect(report.pending).toHaveLength(1)
    expect(verifyReportSchema.parse(report)).toEqual(report)

    const doc = (await (await call('https://gateway.test/openapi.json', { key: null })).json()) as {
      paths: Record<string, { get: { responses: Record<string, unknown> } }>
    }
    const ok = doc.paths['/gateway/v1/audit/verify']!.get.responses['200'] as {
      content: {
        'application/json': { schema: { properties: { result: { properties: object } } } }
      }
    }
    expect(Object.keys(ok.content['application/json'].schema.properties.result.properties)).toEqual(
      [...Object.keys(report), 'cursor'],
    )
  })
})

describe('the CSV columns', () => {
  // The columns as they were before they were derived from the schema: same names, same order.
  const BEFORE = [
    'time',
    'id',
    'kind',
    'request_id',
    'member',
    'team',
    'via',
    'action',
    'account_id',
    'certificate_id',
    'certificate_name',
    'fingerprint_sha256',
    'serial_number',
    'decision',
    'decision_rule_ids',
    'shadow_decision',
    'shadow_rule_ids',
    'approval_id',
    'approval_requested_by',
    'approval_approved_by',
    'outcome',
    'status',
    'error_codes',
    'latency_ms',
    'upstream_attempts',
    'suppressed_count',
    'truncated',
  ]
  const ADDED = [
    'decision_reason',
    // Issue 22: an approval's reason.
    'approval_reason',
    'adopted_certificate_id',
    'adopted_team',
    'assigned_team',
    'assigned_previous_team',
    'suppressed_first',
    'suppressed_last',
    'suppressed_error_codes',
    'chain',
    'seq',
    'prev',
    'released_certificate_id',
    'released_team',
    'quota_override_team',
    'quota_override_quota',
    'quota_override_held',
    'served',
    // Issue 23 (lifecycle)
    'lifecycle_certificate_id',
    'lifecycle_horizon',
    'lifecycle_channel',
    'lifecycle_notice_id',
    'lifecycle_delivery',
    'lifecycle_attempts',
    'lifecycle_reason',
    'lifecycle_next_attempt_at',
    'lifecycle_expires_on',
    'lifecycle_actor_context',
    'lifecycle_actor_type',
    'lifecycle_actor_email',
    'lifecycle_actor_token_id',
    'lifecycle_actor_token_name',
    'lifecycle_actor_at',
    // Issue 20
    'policy_change_proposal',
    'policy_change_kind',
    'policy_change_verdict',
    'policy_change_before',
    'policy_change_after',
    'policy_change_summary',
    'decided_on_roles',
    'decided_on_owner',
    'decided_on_owner_team',
    'decided_on_ca',
    'decided_on_has_associations',
    'decided_on_expires_on',
    // Issue 20, slice 4
    'key_change_verb',
    'key_change_key_id',
    'key_change_member',
    'key_change_team',
    'key_change_roles',
    'key_change_expires_at',
    'key_change_replaced_key_id',
    'key_change_replaced_until',
    'policy_revision',
    // Issue 22: what the entry touched.
    'certificate_ca',
    'certificate_team',
    // Issue 22 (review-audit): reads and console page views.
    'read_only',
    'page_view',
  ]

  it('keep every earlier column, in its order, and add the fields that were missing', () => {
    expect(CSV_COLUMNS.filter((name) => BEFORE.includes(name))).toEqual(BEFORE)
    expect(CSV_COLUMNS.filter((name) => !BEFORE.includes(name))).toEqual(ADDED)
  })

  it('give every field of a real entry a column, and that column its value', () => {
    for (const entry of [complete(), suppressed()]) {
      const row = cells(entry)
      for (const path of leafPaths(entry)) {
        expect(CSV_COLUMNS, path).toContain(columnOf(path))
        expect(row[columnOf(path)], path).not.toBe('')
      }
    }
  })

  it('write the earlier columns exactly as before', () => {
    const { outcome: _, ...facts } = everyFact()
    const answered = entryFromFacts(
      { ...facts, outcome: { status: 403, codes: [18301, 18302] } },
      REQUEST_ID,
      T0,
      T0 + 42,
    )
    const row = cells({ ...answered, truncated: true })
    expect(Object.fromEntries(BEFORE.map((name) => [name, row[name]]))).toEqual({
      time: '2026-04-20T12:00:00.000Z',
      id: REQUEST_ID,
      kind: 'request',
      request_id: REQUEST_ID,
      member: 'admin',
      team: 'platform',
      via: 'key',
      action: 'approve',
      account_id: ACCOUNT,
      certificate_id: CERT,
      certificate_name: 'ci-root',
      fingerprint_sha256: 'f'.repeat(64),
      serial_number: '01ab',
      decision: 'allow',
      decision_rule_ids: 'admins-anything',
      shadow_decision: 'deny',
      shadow_rule_ids: 'freeze',
      approval_id: '7d6c2f9e-8a51-4b1e-9f0a-3c2d1e0f9a8b',
      approval_requested_by: 'bob',
      approval_approved_by: 'admin',
      outcome: 'denied',
      status: '403',
      error_codes: '18301 18302',
      latency_ms: '42',
      upstream_attempts: '2',
      suppressed_count: '',
      truncated: 'true',
    })
    expect(cells(suppressed())).toMatchObject({
      kind: 'suppressed',
      outcome: 'unauthenticated',
      error_codes: '',
      suppressed_count: '3',
      suppressed_first: '2026-04-20T12:00:00.000Z',
      suppressed_last: '2026-04-20T12:00:05.000Z',
      suppressed_error_codes: '0:1 18001:2',
    })
  })

  it('write a list of objects as one column per field, items in the same order', () => {
    expect(cells(complete())).toMatchObject({
      adopted_certificate_id: `${CERT} 023e105f4ecef8ad9ca31a8372d0c353`,
      adopted_team: 'payments identity',
      decision_reason: 'approve allowed by admins-anything',
    })
  })

  it('rename only fields the schema has', () => {
    for (const [path, name] of Object.entries(LEGACY_COLUMN_NAMES)) {
      expect(CSV_COLUMNS).toContain(name)
      expect(CSV_COLUMNS).not.toContain(path.replaceAll('.', '_'))
    }
  })
})

describe('entries written through the gateway', () => {
  beforeEach(async () => {
    await emulator.reset()
  })

  it('parse with the schema, stored and as the review API returns them', async () => {
    const made = await makeCertificate({ ca: true })
    const { body } = await upload({ ca: true, certificates: made.pem }, { key: KEYS.alice })
    const id = (body.result as { id: string }).id
    const requested = await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    const approvalId = (requested.body as unknown as { approval: { id: string } }).approval.id
    await call(`${GATEWAY}/approvals/${approvalId}/approve`, { method: 'POST', key: KEYS.admin })
    await call(certificatesUrl(), { key: KEYS.carol })
    await call(`${GATEWAY}/whoami`, { key: null })
    await call(`${certificatesUrl()}?colour=red`, { key: KEYS.alice })

    const stored = await auditEntries()
    expect(stored.some((entry) => entry.approval?.approved_by === 'admin')).toBe(true)
    expect(stored.some((entry) => entry.decision?.reason !== undefined)).toBe(true)
    for (const entry of stored) expect(auditEntrySchema.parse(entry)).toEqual(entry)

    const listed = await callJson<AuditEntry[]>(`${GATEWAY}/audit?limit=1000`, {
      key: KEYS.auditor,
    })
    expect(listed.body.result.length).toBeGreaterThanOrEqual(stored.length)
    for (const entry of listed.body.result) expect(auditEntrySchema.parse(entry)).toEqual(entry)
  })
})
