/**
 * Injected upstream failures: matching, `times`, each kind, and that faulted requests are logged.
 * `drop` and `reset` are also checked through the bundled worker in bundle.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest'

import { exampleCa } from '../../test/kit/fixtures'
import { call, callJson, control, resetEmulator } from './helpers'

beforeEach(() => resetEmulator())

const addFaults = async (faults: unknown[]) => {
  const res = await control('POST', '/faults', { faults })
  expect(res.status).toBe(200)
  return (await res.json()) as { faults: { kind: string; times: number }[] }
}

describe('queue', () => {
  it('applies a fault once by default, then answers normally', async () => {
    const { faults } = await addFaults([{ kind: 'status', status: 500 }])
    expect(faults).toEqual([{ kind: 'status', status: 500, times: 1 }])
    expect((await call('')).status).toBe(500)
    expect((await call('')).status).toBe(200)
  })

  it('honours times and consumes the first matching fault only', async () => {
    await addFaults([
      { kind: 'status', status: 502, times: 2, match: { method: 'post' } },
      { kind: 'status', status: 503, match: { path_contains: '/associations' } },
      { kind: 'status', status: 504 },
    ])
    expect((await call('/x/associations')).status).toBe(503)
    expect((await call('', { method: 'POST', json: {} })).status).toBe(502)
    expect((await call('')).status).toBe(504)
    expect((await call('', { method: 'POST', json: {} })).status).toBe(502)
    expect((await call('', { method: 'POST', json: {} })).status).toBe(400)
    const left = (await (await control('GET', '/faults')).json()) as { faults: unknown[] }
    expect(left.faults).toEqual([])
  })

  it('is emptied by DELETE /__emulator/faults', async () => {
    await addFaults([{ kind: 'status', times: 5 }])
    expect((await control('DELETE', '/faults')).status).toBe(200)
    expect((await call('')).status).toBe(200)
  })

  it('rejects unknown kinds and bad fields without queueing anything', async () => {
    const res = await control('POST', '/faults', { faults: [{ kind: 'explode' }] })
    expect(res.status).toBe(400)
    const zero = await control('POST', '/faults', { faults: [{ kind: 'status', times: 0 }] })
    expect(zero.status).toBe(400)
    expect((await call('')).status).toBe(200)
  })
})

describe('kinds', () => {
  it('latency waits, then answers normally', async () => {
    await addFaults([{ kind: 'latency', ms: 150 }])
    const started = Date.now()
    const res = await call('')
    expect(res.status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })

  it('status answers the error envelope (code and message overridable)', async () => {
    await addFaults([
      { kind: 'status' },
      { kind: 'status', status: 503, code: 10043, message: 'busy' },
    ])
    const first = await callJson('')
    expect(first.status).toBe(500)
    expect(first.body).toEqual({
      success: false,
      errors: [{ code: 10001, message: 'Internal server error' }],
      messages: [],
      result: null,
    })
    expect(first.headers.get('cf-ray')).toMatch(/-LHR$/)
    const second = await callJson('')
    expect(second.status).toBe(503)
    expect(second.body.errors).toEqual([{ code: 10043, message: 'busy' }])
  })

  it('rate_limit answers 429 with retry-after (default 1)', async () => {
    await addFaults([{ kind: 'rate_limit' }, { kind: 'rate_limit', retry_after: 7 }])
    const first = await callJson('')
    expect(first.status).toBe(429)
    expect(first.headers.get('retry-after')).toBe('1')
    expect(first.body.errors[0]?.code).toBe(971)
    expect((await call('')).headers.get('retry-after')).toBe('7')
  })

  it('null_result answers a success envelope without a result', async () => {
    await addFaults([{ kind: 'null_result' }])
    const { status, body } = await callJson('')
    expect(status).toBe(200)
    expect(body).toEqual({ success: true, errors: [], messages: [], result: null })
  })

  it('non_json answers HTML (200 unless a status is given)', async () => {
    await addFaults([{ kind: 'non_json' }, { kind: 'non_json', status: 502 }])
    const first = await call('')
    expect(first.status).toBe(200)
    expect(first.headers.get('content-type')).toMatch(/^text\/html/)
    await expect(first.clone().json()).rejects.toThrow()
    expect(await first.text()).toContain('<html>')
    expect((await call('')).status).toBe(502)
  })

  it('drop sends the headers, then the body read fails', async () => {
    await addFaults([{ kind: 'drop' }])
    const res = await call('')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    await expect(res.text()).rejects.toThrow('emulated connection drop')
  })

  it('reset makes the fetch itself fail', async () => {
    await addFaults([{ kind: 'reset' }])
    await expect(call('')).rejects.toThrow('emulated connection reset')
    expect((await call('')).status).toBe(200)
  })

  it('slow_body sends the real answer at once but its body only after ms', async () => {
    await addFaults([{ kind: 'slow_body', ms: 400 }])
    const started = Date.now()
    const res = await call('')
    expect(Date.now() - started).toBeLessThan(300)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('x-ratelimit-limit')).toBe('1200')
    const body = JSON.parse(await res.text()) as { success: boolean; result: unknown[] }
    expect(Date.now() - started).toBeGreaterThanOrEqual(390)
    expect(body).toMatchObject({ success: true, result: [] })
  })

  it('slow_body runs the handler: an upload is stored although its answer is late', async () => {
    await addFaults([{ kind: 'slow_body', ms: 60_000 }])
    const uploaded = await call('', { method: 'POST', json: { ca: true, certificates: exampleCa } })
    expect(uploaded.status).toBe(200)
    await uploaded.body!.cancel()
    const { body } = await callJson('')
    expect(body.result).toHaveLength(1)
  })

  it('faulted requests are recorded in the request log, fault or not', async () => {
    await addFaults([{ kind: 'status' }, { kind: 'reset' }])
    await call('?a=1')
    await call('?a=2').catch(() => undefined)
    await call('?a=3')
    const { requests } = (await (await control('GET', '/requests')).json()) as {
      requests: { query: string }[]
    }
    expect(requests.map((r) => r.query)).toEqual(['a=1', 'a=2', 'a=3'])
  })
})
