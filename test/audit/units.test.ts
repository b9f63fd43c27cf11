/**
 * The audit log's pure parts: the metadata budget, the anonymous flood budget, the canonical form
 * that is signed, request ids, the key order, and the configuration it needs.
 */
import { describe, expect, it } from 'vitest'
import { expand, fit, summarize, MAX_METADATA_BYTES, type AuditEntry } from '../../src/audit/entry'
import { AnonymousBudget } from '../../src/audit/flood-guard'
import { canonical, judge, sign } from '../../src/audit/signing'
import { rev } from '../../src/audit/store'
import { readConfig } from '../../src/config'
import { uuidv7, uuidv7Time } from '../../src/lib/uuidv7'

const requestId = uuidv7()
const longest: AuditEntry = {
  kind: 'request',
  id: requestId,
  time: new Date(uuidv7Time(requestId)!).toISOString(),
  request_id: requestId,
  member: 'm'.repeat(63),
  team: 't'.repeat(63),
  via: 'key',
  action: 'associations',
  account_id: 'a'.repeat(32),
  certificate_id: 'c'.repeat(36),
  // 255 characters of 4 bytes each: the longest name the upload schema accepts.
  certificate_name: '𝔘'.repeat(255),
  fingerprint_sha256: 'f'.repeat(64),
  serial_number: '9'.repeat(60),
  decision: {
    effect: 'deny',
    rule_ids: Array.from({ length: 40 }, (_, i) => `r${i}`.padEnd(63, 'x')),
    reason: 'ignored in metadata',
    shadow: {
      effect: 'allow',
      rule_ids: Array.from({ length: 40 }, (_, i) => `s${i}`.padEnd(63, 'y')),
    },
  },
  outcome: { class: 'upstream_error', status: 502, error_codes: [18506, 10001, 10002, 10003] },
  latency_ms: 120_000,
  upstream_attempts: 5,
  // The longest the snapshot's note can be (issue 21).
  served: `snapshot r${Number.MAX_SAFE_INTEGER} age ${86_400 * 365}s stale`,
}

const size = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length

describe('the metadata summary', () => {
  it('fits KV’s 1024 bytes, with signature, seal and hash, even for the longest entry', async () => {
    const summary = fit(summarize(longest))
    const unsigned = { ...summary, vh: 'h'.repeat(43) }
    const signed = { ...unsigned, ...(await sign('k'.repeat(32), 'v1:e:x', unsigned)) }
    expect(size(signed)).toBeLessThanOrEqual(MAX_METADATA_BYTES)
    expect(expand(summary).truncated).toBe(true)
  })

  it('keeps an ordinary entry whole, and gives back exactly the entry', () => {
    const { decision: _, ...plain } = longest
    const ordinary = { ...plain, certificate_name: 'ci-root', serial_number: '01ab' }
    const summary = fit(summarize(ordinary))
    expect(summary.tr).toBeUndefined()
    expect(expand(summary)).toEqual(ordinary)
  })
})

describe('the anonymous budget', () => {
  it('admits a burst, counts the rest, and summarises them once a token is back', () => {
    let now = 1_000_000
    const budget = new AnonymousBudget(3, 60_000, () => now)
    expect([1, 2, 3, 4, 5].map(() => budget.admit([18001]))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ])
    budget.admit([18003])
    expect(budget.takeSummary()).toBeUndefined() // no token yet
    now += 60_000
    expect(budget.takeSummary()).toEqual({
      count: 3,
      first: new Date(1_000_000).toISOString(),
      last: new Date(1_000_000).toISOString(),
      error_codes: { 18001: 2, 18003: 1 },
    })
    expect(budget.takeSummary()).toBeUndefined() // nothing left to summarise
    expect(budget.admit([18001])).toBe(false) // the token went to the summary
  })

  it('refills at its rate and never beyond its burst', () => {
    let now = 0
    const budget = new AnonymousBudget(2, 1000, () => now)
    budget.admit([])
    budget.admit([])
    now += 10_000
    expect([1, 2, 3].map(() => budget.admit([]))).toEqual([true, true, false])
    now += 999
    expect(budget.admit([])).toBe(false)
    now += 1
    expect(budget.admit([])).toBe(true)
  })

  it('keeps the count of a summary whose write failed', () => {
    let now = 0
    const budget = new AnonymousBudget(1, 1000, () => now)
    budget.admit([])
    budget.admit([18001])
    now += 1000
    const summary = budget.takeSummary()!
    budget.restore(summary)
    budget.admit([18002])
    now += 1000
    expect(budget.takeSummary()).toMatchObject({ count: 2, error_codes: { 18001: 1, 18002: 1 } })
  })
})

describe('signing', () => {
  it('signs a canonical form: key order and absent members do not matter', async () => {
    expect(canonical({ b: 1, a: [true, 'x', { d: null, c: undefined }] })).toBe(
      '{"a":[true,"x",{"d":null}],"b":1}',
    )
    const one = await sign('k'.repeat(32), 'v1:e:1', { a: 1, b: 'x' })
    const two = await sign('k'.repeat(32), 'v1:e:1', { b: 'x', a: 1, c: undefined })
    expect(one).toEqual(two)
  })

  it('tells altered from forged from unsigned', async () => {
    const key = 'k'.repeat(32)
    const seals = await sign(key, 'v1:e:1', { a: 1 })
    expect(await judge(key, 'v1:e:1', { a: 1, ...seals })).toBe('valid')
    expect(await judge(key, 'v1:e:1', { a: 2, ...seals })).toBe('altered')
    expect(await judge(key, 'v1:e:2', { a: 1, ...seals })).toBe('forged')
    expect(await judge(key, 'v1:e:1', { a: 1 })).toBe('unsigned')
    expect(await judge(key, 'v1:e:1', null)).toBe('unsigned')
    expect(await judge('j'.repeat(32), 'v1:e:1', { a: 1, ...seals })).toBe('forged')
  })
})

describe('keys and request ids', () => {
  it('mints UUIDv7 request ids that carry their millisecond', () => {
    const id = uuidv7(1_790_000_000_123)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(uuidv7Time(id)).toBe(1_790_000_000_123)
    expect(uuidv7Time('2458ce5a-0c35-4c7f-82c7-8e9487d3ff60')).toBeUndefined()
  })

  it('sorts newer events first in byte order, at a fixed width', () => {
    const times = [0, 1, 1_790_000_000_000, 1_790_000_000_001, 4_102_444_800_000]
    const keys = times.map(rev)
    expect(new Set(keys.map((k) => k.length))).toEqual(new Set([13]))
    expect([...keys].sort()).toEqual([...keys].reverse())
  })
})

describe('configuration', () => {
  const policy = JSON.stringify({
    version: 1,
    teams: [{ id: 'payments', accounts: ['0123456789abcdef0123456789abcdef'] }],
    members: [],
  })
  // Secrets that could not turn up in a problem by chance, so that quoting one is always caught.
  const TOKEN = 'units-api-token-8c1f4e2a9b7d'
  const SIGNING_KEY = 'units-audit-signing-key-3e9a7c1f5b2d8e40'
  const ED25519_D = 'mqoY1rbbfXj9Q8rcTmDDZougOeALYadZPoo5vkvTbCA'
  const ED25519_KEY = `{"kty":"OKP","crv":"Ed25519","x":"Q5s2ouxXmP-2i2oOWqCUC-yyA9bVcDpyg9EQ4YPcekw","d":"${ED25519_D}"}`
  const base = {
    CLOUDFLARE_API_TOKEN: TOKEN,
    POLICY: policy,
    AUDIT: { put: () => {} },
    COORDINATOR: { idFromName: () => {} },
    AUDIT_SIGNING_KEY: SIGNING_KEY,
    AUDIT_ED25519_PRIVATE_KEY: ED25519_KEY,
  }

  it('keeps entries a year by default', () => {
    const result = readConfig(base)
    expect(result.ok && result.config.audit).toMatchObject({
      signingKey: SIGNING_KEY,
      retentionDays: 365,
    })
  })

  // Each row holds a secret (the signing key when there is one, the API token in every row) that
  // its problem must not quote.
  it.each([
    ['no AUDIT binding', { AUDIT: undefined }, 'AUDIT'],
    ['no signing key', { AUDIT_SIGNING_KEY: undefined }, 'AUDIT_SIGNING_KEY'],
    ['a short signing key', { AUDIT_SIGNING_KEY: 'short-signing-key' }, 'AUDIT_SIGNING_KEY'],
    ['a retention of 0 days', { AUDIT_RETENTION_DAYS: '0' }, 'AUDIT_RETENTION_DAYS'],
    ['no Ed25519 key', { AUDIT_ED25519_PRIVATE_KEY: undefined }, 'AUDIT_ED25519_PRIVATE_KEY'],
    [
      'an Ed25519 key that is not JSON',
      { AUDIT_ED25519_PRIVATE_KEY: ED25519_D },
      'AUDIT_ED25519_PRIVATE_KEY',
    ],
    [
      'an Ed25519 public key for the private one',
      { AUDIT_ED25519_PRIVATE_KEY: ED25519_KEY.replace(`,"d":"${ED25519_D}"`, '') },
      'AUDIT_ED25519_PRIVATE_KEY',
    ],
  ])('refuses %s, naming it and never quoting a secret', (_, change, name) => {
    const env: Record<string, unknown> = { ...base, ...change }
    const result = readConfig(env)
    expect(result.ok).toBe(false)
    const problems = result.ok ? '' : result.problems.join('\n')
    expect(problems).toContain(name)
    const secrets = [env.CLOUDFLARE_API_TOKEN, env.AUDIT_SIGNING_KEY, ED25519_D].filter(
      (secret) => typeof secret === 'string',
    )
    for (const secret of secrets) expect(problems).not.toContain(secret)
  })
})
