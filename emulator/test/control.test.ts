/**
 * The control API: its secret, reset, seeding, associations, limits and the request log.
 */
import { exports } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'

import { exampleCa as pem } from '../../test/kit/fixtures'
import {
  ACCOUNT,
  call,
  callJson,
  control,
  resetEmulator,
  upload,
  type Certificate,
} from './helpers'

beforeEach(() => resetEmulator())

const json = async <T>(res: Response) => (await res.json()) as T

describe('secret', () => {
  it.each([undefined, 'wrong', 'EMULATOR-CONTROL-SECRET', 'emulator-control-secre'])(
    'refuses x-emulator-secret %s with 403 and changes nothing',
    async (secret) => {
      await upload({ ca: true, certificates: pem })
      const headers: Record<string, string> =
        secret === undefined ? {} : { 'x-emulator-secret': secret }
      for (const [method, path] of [
        ['POST', '/reset'],
        ['DELETE', '/requests'],
        ['GET', '/requests'],
        ['GET', '/nowhere'],
      ]) {
        const res = await exports.default.fetch(`https://x/__emulator${path}`, { method, headers })
        expect(res.status).toBe(403)
        await res.body?.cancel()
      }
      expect((await callJson<Certificate[]>('')).body.result).toHaveLength(1)
      const log = await json<{ requests: unknown[] }>(await control('GET', '/requests'))
      expect(log.requests).toHaveLength(2)
    },
  )

  it('answers 404 for an unknown control endpoint', async () => {
    expect((await control('GET', '/nowhere')).status).toBe(404)
  })
})

describe('reset', () => {
  it('wipes certificates, associations, faults, limits and the log', async () => {
    const created = (await upload({ ca: true, certificates: pem })).body.result
    await control('PUT', `/associations/${created.id}`, {
      associations: [{ service: 'gateway', status: 'active' }],
    })
    await control('POST', '/faults', { faults: [{ kind: 'status', times: 10 }] })
    await control('PUT', '/limits', { ca_certificates_per_account: 0 })
    expect(await json(await control('POST', '/reset'))).toEqual({ ok: true })

    expect(await json(await control('GET', '/requests'))).toEqual({ requests: [] })
    expect(await json(await control('GET', '/faults'))).toEqual({ faults: [] })
    expect(await json(await control('GET', '/limits'))).toEqual({
      limits: {
        ca_certificates_per_account: 5,
        requests_per_window: 1200,
        window_seconds: 300,
        block_seconds: 300,
      },
    })
    expect((await callJson<Certificate[]>('')).body.result).toEqual([])
    // Same bytes upload again: nothing is left of the first one, associations included.
    const again = (await upload({ ca: true, certificates: pem })).body.result
    expect((await callJson(`/${again.id}/associations`)).body.result).toEqual([])
  })
})

describe('seeding certificates', () => {
  it('stores any fields as given, generates an id, and hides updated_at and private_key', async () => {
    const res = await control('POST', '/certificates', {
      account_id: ACCOUNT,
      certificate: {
        type: 'gateway_managed',
        name: 'gw',
        ca: true,
        updated_at: '2024-01-01T00:00:00.000000Z',
        private_key: 'secret',
      },
    })
    expect(res.status).toBe(200)
    const { account_id, certificate } = await json<{
      account_id: string
      certificate: Certificate
    }>(res)
    expect(account_id).toBe(ACCOUNT)
    expect(certificate).toEqual({
      type: 'gateway_managed',
      name: 'gw',
      ca: true,
      id: expect.any(String),
    })
    const listed = (await callJson<Certificate[]>('')).body.result
    expect(listed).toEqual([certificate])
  })

  it('counts seeded CA certificates toward the quota and seeded PEM toward duplicates', async () => {
    await control('PUT', '/limits', { ca_certificates_per_account: 1 })
    await control('POST', '/certificates', { account_id: ACCOUNT, certificate: { ca: true } })
    const quota = await upload({ ca: true, certificates: pem })
    expect(quota.body.errors[0]?.code).toBe(1489)

    await resetEmulator()
    await control('POST', '/certificates', {
      account_id: ACCOUNT,
      certificate: { certificates: pem },
    })
    expect((await upload({ ca: true, certificates: pem })).body.errors[0]?.code).toBe(1471)
  })

  it('rejects a body without account_id or certificate object', async () => {
    const res = await control('POST', '/certificates', { certificate: {} })
    expect(res.status).toBe(400)
    expect(await json(res)).toMatchObject({ error: 'invalid control request' })
    expect(
      (await control('POST', '/certificates', { account_id: ACCOUNT, certificate: [] })).status,
    ).toBe(400)
    const notJson = await exports.default.fetch('https://x/__emulator/certificates', {
      method: 'POST',
      headers: { 'x-emulator-secret': 'emulator-control-secret' },
      body: '{',
    })
    expect(notJson.status).toBe(400)
  })
})

describe('associations', () => {
  it('answers 404 for an unknown certificate and 400 for a bad body', async () => {
    expect((await control('PUT', '/associations/nope', { associations: [] })).status).toBe(404)
    const created = (await upload({ ca: true, certificates: pem })).body.result
    const bad = await control('PUT', `/associations/${created.id}`, {
      associations: [{ service: 1 }],
    })
    expect(bad.status).toBe(400)
  })

  it('returns what was set', async () => {
    const created = (await upload({ ca: true, certificates: pem })).body.result
    const list = [{ service: 'gateway', status: 'pending_deployment' }]
    const res = await control('PUT', `/associations/${created.id}`, { associations: list })
    expect(await json(res)).toEqual({ certificate_id: created.id, associations: list })
  })
})

describe('limits', () => {
  it('changes only the given limits and rejects nonsense', async () => {
    const res = await control('PUT', '/limits', { requests_per_window: 10 })
    expect(await json(res)).toEqual({
      limits: {
        ca_certificates_per_account: 5,
        requests_per_window: 10,
        window_seconds: 300,
        block_seconds: 300,
      },
    })
    expect((await control('PUT', '/limits', { window_seconds: 0 })).status).toBe(400)
    expect((await control('PUT', '/limits', { requests_per_window: 'many' })).status).toBe(400)
  })
})

describe('request log', () => {
  it('records every API request, refused ones included, oldest first, and not control calls', async () => {
    await call('?type=custom&x=%20y', { headers: { 'x-extra': 'Value' } })
    await call('', { method: 'POST', json: { ca: true } })
    await exports.default.fetch(
      'https://api.cloudflare.com/client/v4/accounts/a/mtls_certificates/i',
      {
        method: 'DELETE',
      },
    )
    await call('https://api.cloudflare.com/nowhere')
    await control('PUT', '/limits', {})

    const { requests } = await json<{ requests: Record<string, unknown>[] }>(
      await control('GET', '/requests'),
    )
    expect(requests).toHaveLength(4)
    expect(requests[0]).toEqual({
      method: 'GET',
      path: `/client/v4/accounts/${ACCOUNT}/mtls_certificates`,
      query: 'type=custom&x=%20y',
      headers: expect.objectContaining({
        authorization: 'Bearer emulator-upstream-token',
        'x-extra': 'Value',
      }),
      body: null,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    })
    expect(requests[1]).toMatchObject({ method: 'POST', body: '{"ca":true}', query: '' })
    expect(requests[2]).toMatchObject({
      method: 'DELETE',
      path: '/client/v4/accounts/a/mtls_certificates/i',
    })
    expect(requests[3]).toMatchObject({ method: 'GET', path: '/nowhere' })

    expect(await json(await control('DELETE', '/requests'))).toEqual({ ok: true })
    expect(await json(await control('GET', '/requests'))).toEqual({ requests: [] })
  })
})
