/**
 * The upstream result checks (src/upstream/result-check.ts): the same rule as the zod schemas
 * they are compiled from (property-tested against zod itself), the value returned as it came (no
 * copy), the first wrong field named, and the port answering 502 with that name in the upstream
 * envelope's error.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { GatewayError } from '../../src/lib/errors'
import type { BudgetGate } from '../../src/upstream/budget-gate'
import { upstreamPort } from '../../src/upstream/port'
import { upstreamRequests } from '../../src/upstream/request'
import {
  association,
  associationList,
  certificateList,
  mtlsCertificate,
  resultChecks,
} from '../../src/upstream/shapes'

const ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353'
const CERT = { id: 'c1', name: 'a', ca: false, certificates: 'PEM', extra: { kept: [1] } }

// Values of every kind the documented fields could be sent as, right or wrong.
const anyValue = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.integer(),
  fc.constant([]),
  fc.constant({}),
)
const FIELDS = [
  'id',
  'ca',
  'certificates',
  'expires_on',
  'issuer',
  'name',
  'serial_number',
  'signature',
  'type',
  'uploaded_on',
  'updated_at',
  'service',
  'status',
  'other',
]
const anyObject = fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 6 })
const anyItem = fc.oneof(anyObject, anyValue)

describe('the result checks agree with the schemas they are compiled from', () => {
  it('a certificate', () => {
    fc.assert(
      fc.property(anyItem, (value) => {
        expect(resultChecks.certificate.check(value).ok).toBe(
          mtlsCertificate.safeParse(value).success,
        )
      }),
      { numRuns: 2000 },
    )
  })

  it('a list of certificates, null included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(anyItem, { maxLength: 4 }), anyValue), (value) => {
        const checked = resultChecks.certificateList.check(value)
        const parsed = certificateList.safeParse(value)
        expect(checked.ok).toBe(parsed.success)
        if (checked.ok && parsed.success) expect(checked.value).toEqual(parsed.data)
      }),
      { numRuns: 2000 },
    )
  })

  it('a list of associations (null is not "none")', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(anyItem, { maxLength: 4 }), anyValue), (value) => {
        expect(resultChecks.associationList.check(value).ok).toBe(
          associationList.safeParse(value).success,
        )
      }),
      { numRuns: 2000 },
    )
    expect(association.safeParse({}).success).toBe(true)
  })
})

describe('what a check answers', () => {
  it('returns the upstream value itself: loose fields and their order untouched', () => {
    const list = [CERT, { ...CERT, id: 'c2' }]
    const checked = resultChecks.certificateList.check(list)
    expect(checked).toEqual({ ok: true, value: list })
    expect(checked.ok && checked.value).toBe(list)
    expect(checked.ok && checked.value[0]).toBe(CERT)
  })

  it('reads a null list as empty', () => {
    expect(resultChecks.certificateList.check(null)).toEqual({ ok: true, value: [] })
  })

  it.each([
    [{ result: 'a list' }, 'result: expected an array, received object'],
    [[CERT, 'c2'], 'result[1]: expected an object, received string'],
    [[CERT, [CERT]], 'result[1]: expected an object, received an array'],
    [[CERT, { name: 'x' }], 'result[1].id: expected a string, received undefined'],
    [[{ id: 7 }], 'result[0].id: expected a string, received number'],
    [[{ id: 'c', ca: 'yes' }], 'result[0].ca: expected no value or a boolean, received string'],
    [
      [{ id: 'c', certificates: null }],
      'result[0].certificates: expected no value or a string, received null',
    ],
    [
      [{ id: 'c', name: 1 }],
      'result[0].name: expected no value or a string or null, received number',
    ],
  ])('names the first wrong field of a list: %j', (value, problem) => {
    expect(resultChecks.certificateList.check(value)).toEqual({ ok: false, problem })
  })

  it('names the field of a single certificate', () => {
    expect(resultChecks.certificate.check({ ca: true })).toEqual({
      ok: false,
      problem: 'result.id: expected a string, received undefined',
    })
    expect(resultChecks.certificate.check(null)).toEqual({
      ok: false,
      problem: 'result: expected an object, received null',
    })
  })
})

describe('the port, on an answer whose result is wrong', () => {
  afterEach(() => vi.restoreAllMocks())

  const gate: BudgetGate = { admit: async () => {}, rateLimited: async () => {}, heard: () => {} }
  const settings = {
    baseUrl: 'http://127.0.0.1:8788/client/v4',
    apiToken: 'token',
    timeoutMs: 1000,
    maxAttempts: 1,
    retryBaseMs: 0,
  }

  async function listAnswering(result: unknown) {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      Response.json({ success: true, errors: [], messages: [], result }),
    )
    const port = upstreamPort(settings, gate)
    const error = await port.call(upstreamRequests.list(ACCOUNT, undefined)).then(
      () => undefined,
      (e: unknown) => e,
    )
    return { error, stats: port.stats }
  }

  it('is a 502 upstream failure, the field named in the envelope error', async () => {
    const { error, stats } = await listAnswering([CERT, { name: 'no id' }])
    expect(error).toBeInstanceOf(GatewayError)
    const failure = error as GatewayError
    expect(failure.status).toBe(502)
    expect(failure.errors).toEqual([
      {
        code: 18502,
        message:
          'The upstream answered HTTP 200 without the result it documents (result[1].id: expected a string, received undefined); nothing was relayed',
      },
    ])
    expect(stats).toEqual({ attempts: 1, failed: true })
  })

  it('relays a good list as the upstream sent it', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      Response.json({ success: true, errors: [], messages: [], result: [CERT] }),
    )
    const answer = await upstreamPort(settings, gate).call(
      upstreamRequests.list(ACCOUNT, undefined),
    )
    expect(answer.result).toEqual([CERT])
    expect(Object.keys(answer.result[0]!)).toEqual(Object.keys(CERT))
  })
})
