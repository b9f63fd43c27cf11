/**
 * The upstream misbehaving, through the emulator's fault controls: what the caller sees, and how
 * many times the gateway called (reads retried with backoff, mutations never).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { emulator } from '../support/emulator'
import {
  callJson,
  certificateUrl,
  certificatesUrl,
  uploadNew,
  uploadedId,
} from '../support/gateway'
import { newEntries } from '../support/audit'
import { ACCOUNT, UPSTREAM_TOKEN } from '../support/identities'

beforeEach(async () => {
  await emulator.reset()
})

const upstreamCalls = async (method?: string) =>
  (await emulator.requests()).filter((r) => method === undefined || r.method === method).length

describe('reads are retried', () => {
  it('retries a 5xx and succeeds on the next attempt', async () => {
    await emulator.addFaults({ kind: 'status', status: 503 })
    const { status } = await callJson(certificatesUrl())
    expect(status).toBe(200)
    expect(await upstreamCalls()).toBe(2)
  })

  it('gives up after the configured attempts with 502, keeping the upstream code', async () => {
    await emulator.addFaults({ kind: 'status', status: 500, times: 10 })
    const { status, body, response } = await callJson(certificatesUrl())
    expect(status).toBe(502)
    expect(body.errors[0]!.code).toBe(18506)
    expect(response.headers.get('x-should-retry')).toBe('false')
    expect(await upstreamCalls()).toBe(3)
  })

  it('makes exactly UPSTREAM_MAX_ATTEMPTS calls', async () => {
    await emulator.addFaults({ kind: 'status', status: 500, times: 10 })
    await callJson(certificatesUrl(), { env: { UPSTREAM_MAX_ATTEMPTS: '1' } })
    expect(await upstreamCalls()).toBe(1)
  })

  it('retries a 429 after the retry-after it was given', async () => {
    await emulator.addFaults({ kind: 'rate_limit', retry_after: 1 })
    const { status } = await callJson(certificatesUrl())
    expect(status).toBe(200)
    const [first, second] = await emulator.requests()
    expect(Date.parse(second!.at) - Date.parse(first!.at)).toBeGreaterThanOrEqual(950)
  })

  it('relays a 429 whose retry-after is too long to wait for, with its retry-after', async () => {
    await emulator.addFaults({ kind: 'rate_limit', retry_after: 300 })
    const { status, response } = await callJson(certificatesUrl())
    expect(status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('300')
    expect(await upstreamCalls()).toBe(1)
  })

  it('retries a dropped connection', async () => {
    await emulator.addFaults({ kind: 'drop' })
    const { status } = await callJson(certificatesUrl())
    expect(status).toBe(200)
    expect(await upstreamCalls()).toBe(2)
  })

  it('answers 502 when the connection keeps dropping', async () => {
    await emulator.addFaults({ kind: 'drop', times: 5 })
    const { status, body } = await callJson(certificatesUrl())
    expect(status).toBe(502)
    expect(body.errors[0]!.code).toBe(18503)
  })

  it('does not retry a 4xx', async () => {
    await callJson(certificateUrl(crypto.randomUUID()))
    expect(await upstreamCalls()).toBe(1)
  })
})

describe('answers that are not envelopes', () => {
  it('turns a 200 HTML page into 502 and does not retry it', async () => {
    await emulator.addFaults({ kind: 'non_json', status: 200 })
    const { status, body } = await callJson(certificatesUrl())
    expect(status).toBe(502)
    expect(body.errors[0]!.code).toBe(18502)
    expect(await upstreamCalls()).toBe(1)
  })
})

describe('timeouts', () => {
  it('answers 504 when the upstream is slower than the timeout, and does not retry', async () => {
    await emulator.addFaults({ kind: 'latency', ms: 1500 })
    const { status, body } = await callJson(certificatesUrl(), {
      env: { UPSTREAM_TIMEOUT_MS: '300' },
    })
    expect(status).toBe(504)
    expect(body.errors[0]!.code).toBe(18504)
    expect(await upstreamCalls()).toBe(1)
  })

  it('waits for an upstream that is slow but within the timeout', async () => {
    await emulator.addFaults({ kind: 'latency', ms: 200 })
    expect(
      (await callJson(certificatesUrl(), { env: { UPSTREAM_TIMEOUT_MS: '2000' } })).status,
    ).toBe(200)
  })
})

describe('mutations are never retried', () => {
  it.each([
    ['a 5xx', { kind: 'status', status: 503 } as const, 502],
    ['a 429', { kind: 'rate_limit', retry_after: 1 } as const, 429],
    ['a dropped connection', { kind: 'drop' } as const, 502],
    ['a non-JSON answer', { kind: 'non_json', status: 502 } as const, 502],
  ])('an upload that meets %s is tried once', async (_, fault, status) => {
    await emulator.addFaults({ ...fault, match: { method: 'POST' } })
    const response = await uploadNew()
    expect(response.status).toBe(status)
    expect(await upstreamCalls('POST')).toBe(1)
    if (status >= 500) expect(response.response.headers.get('x-should-retry')).toBe('false')
  })

  it('an upload that times out is tried once and answers 504', async () => {
    await emulator.addFaults({ kind: 'latency', ms: 1500, match: { method: 'POST' } })
    const { status } = await uploadNew({}, { env: { UPSTREAM_TIMEOUT_MS: '300' } })
    expect(status).toBe(504)
    expect(await upstreamCalls('POST')).toBe(1)
  })

  it('a delete that meets a 5xx is tried once', async () => {
    const id = await uploadedId()
    await emulator.addFaults({ kind: 'status', status: 500, match: { method: 'DELETE' } })
    expect((await callJson(certificateUrl(id, ACCOUNT), { method: 'DELETE' })).status).toBe(502)
    expect(await upstreamCalls('DELETE')).toBe(1)
  })
})

describe('a success without the result it documents', () => {
  const NULL_RESULT = (method: string) => ({ kind: 'null_result' as const, match: { method } })

  it('is a 502 for an upload, not a 500 from reading a result that is not there', async () => {
    await emulator.addFaults(NULL_RESULT('POST'))
    const { status, body, response } = await uploadNew()
    expect([status, body.errors[0]!.code]).toEqual([502, 18502])
    expect(response.headers.get('x-should-retry')).toBe('false')
    const list = await callJson<unknown[]>(certificatesUrl())
    expect(list.body.result).toEqual([])
  })

  it('is a 502 for a delete, and the owner stays: the team still sees its certificate', async () => {
    const id = await uploadedId()
    await emulator.addFaults(NULL_RESULT('DELETE'))
    const refused = await callJson(certificateUrl(id), { method: 'DELETE' })
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([502, 18502])
    const again = await callJson<{ id: string }>(certificateUrl(id))
    expect([again.status, again.body.result.id]).toEqual([200, id])
  })

  it('is a 502 for a get, never relayed as a success', async () => {
    await emulator.addFaults({ kind: 'null_result', times: 10 })
    const { status, body } = await callJson(certificateUrl(crypto.randomUUID()))
    expect([status, body.success, body.errors[0]!.code]).toEqual([502, false, 18502])
  })

  it('is an empty list for a list, as the official SDK reads a null result', async () => {
    await emulator.addFaults({ kind: 'null_result', times: 10 })
    const { status, body } = await callJson(certificatesUrl())
    expect([status, body.success, body.result]).toEqual([200, true, []])
    expect(body.result_info).toMatchObject({ count: 0, total_count: 0 })
  })
})

describe('what the upstream says is scrubbed of credentials', () => {
  it.each([400, 403, 500])(
    'an upstream %i whose message echoes the token relays no token',
    async (status) => {
      await emulator.addFaults({
        kind: 'status',
        status,
        code: 9109,
        message: `Invalid request headers: Authorization: Bearer ${UPSTREAM_TOKEN} (token ${UPSTREAM_TOKEN})`,
        times: 10,
      })
      let text = ''
      const entries = await newEntries(async () => {
        const answer = await uploadNew()
        text = answer.text
        expect(answer.body.errors.map((e) => e.code)).toContain(9109)
      })
      expect(text).not.toContain(UPSTREAM_TOKEN)
      expect(text).toContain('Authorization: Bearer [redacted] (token [redacted])')
      expect(entries).toHaveLength(1)
      expect(JSON.stringify(entries)).not.toContain(UPSTREAM_TOKEN)
    },
  )
})
