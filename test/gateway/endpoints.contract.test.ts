/**
 * The five endpoints through the gateway against the emulator: status, envelope and every field,
 * as a client written for Cloudflare expects them.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { makeCertificate } from '../kit/certificates'
import { exampleCa, exampleKey } from '../kit/fixtures'
import { emulator } from '../support/emulator'
import {
  call,
  callJson,
  certificateUrl,
  certificatesUrl,
  upload,
  uploadedId,
} from '../support/gateway'
import { ACCOUNT, UPSTREAM_TOKEN } from '../support/identities'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/

beforeEach(async () => {
  await emulator.reset()
})

describe('upload', () => {
  it('computes exactly the documented fields for the example CA', async () => {
    const { status, body } = await upload({
      ca: true,
      certificates: exampleCa,
      name: 'example_ca_cert',
    })
    expect(status).toBe(200)
    expect(body).toEqual({
      success: true,
      errors: [],
      messages: [],
      result: {
        id: expect.stringMatching(UUID),
        ca: true,
        certificates: exampleCa.trimEnd(),
        expires_on: '2122-10-29T16:59:47Z',
        issuer: 'O=Example Inc.,L=California,ST=San Francisco,C=US',
        name: 'example_ca_cert',
        serial_number: '235217144297995885180570755458463043449861756659',
        signature: 'SHA256WithRSA',
        type: 'custom',
        uploaded_on: expect.stringMatching(MICROS),
        updated_at: expect.stringMatching(MICROS),
      },
    })
  })

  it('forwards exactly the four fields, with the stored token and nothing of the caller', async () => {
    await upload({ ca: true, certificates: exampleCa, name: 'with-key', private_key: exampleKey })
    const [request] = await emulator.requests()
    expect(request).toMatchObject({
      method: 'POST',
      path: `/client/v4/accounts/${ACCOUNT}/mtls_certificates`,
    })
    expect(JSON.parse(request!.body!)).toEqual({
      ca: true,
      certificates: exampleCa,
      name: 'with-key',
      private_key: exampleKey,
    })
    expect(request!.headers.authorization).toBe(`Bearer ${UPSTREAM_TOKEN}`)
  })

  it('never returns the private key it forwarded', async () => {
    const { text } = await upload({ ca: true, certificates: exampleCa, private_key: exampleKey })
    expect(text).not.toContain('PRIVATE KEY')
    expect(text).not.toContain('private_key')
  })

  it('treats an empty name and private_key (as cloudflare-go sends them) as absent', async () => {
    const leaf = await makeCertificate({ ca: false })
    const { status } = await upload({
      ca: false,
      certificates: leaf.pem,
      name: '',
      private_key: '',
    })
    expect(status).toBe(200)
    const [request] = await emulator.requests()
    expect(JSON.parse(request!.body!)).toEqual({ ca: false, certificates: leaf.pem })
  })

  it('relays the upstream refusal of a duplicate with its code 1471', async () => {
    await upload({ ca: true, certificates: exampleCa })
    const { status, body } = await upload({ ca: true, certificates: exampleCa })
    expect(status).toBeGreaterThanOrEqual(400)
    expect(status).toBeLessThan(500)
    expect(body).toMatchObject({
      success: false,
      result: null,
      messages: [],
      errors: [{ code: 1471 }],
    })
  })

  it('relays the CA quota refusal with its code 1489', async () => {
    await emulator.setLimits({ ca_certificates_per_account: 1 })
    await upload({ ca: true, certificates: exampleCa })
    const other = await makeCertificate({ ca: true })
    const { body } = await upload({ ca: true, certificates: other.pem })
    expect(body.errors).toEqual([expect.objectContaining({ code: 1489 })])
  })
})

describe('get, list, associations and delete', () => {
  const uploaded = (name: string, ca = true) => uploadedId({ ca, name })

  it('gets a certificate by id, without updated_at', async () => {
    const id = await uploaded('get-me')
    const { status, body } = await callJson(certificateUrl(id))
    expect(status).toBe(200)
    expect(body).toMatchObject({
      success: true,
      errors: [],
      messages: [],
      result: { id, name: 'get-me' },
    })
    expect(body.result).not.toHaveProperty('updated_at')
  })

  it('answers an unknown id with 404 and the upstream code 1472', async () => {
    const { status, body } = await callJson(certificateUrl(crypto.randomUUID()))
    expect(status).toBe(404)
    expect(body).toEqual({
      success: false,
      errors: [{ code: 1472, message: 'Certificate not found' }],
      messages: [],
      result: null,
    })
  })

  it('lists certificates with result_info that matches', async () => {
    const a = await uploaded('a')
    const b = await uploaded('b', false)
    const { status, body } = await callJson<{ id: string }[]>(certificatesUrl())
    expect(status).toBe(200)
    expect(body.result.map((c) => c.id).sort()).toEqual([a, b].sort())
    expect(body.result_info).toMatchObject({ count: 2, total_count: 2, page: 1 })
  })

  it.each([
    ['comma-separated', '?type=custom,gateway_managed'],
    ['repeated', '?type=custom&type=gateway_managed'],
    ['repeated, with duplicates', '?type=custom&type=gateway_managed,custom&type=gateway_managed'],
  ])('accepts type %s and forwards each value once, comma-separated', async (_, query) => {
    await emulator.seedCertificate(ACCOUNT, { type: 'access_managed', name: 'managed-by-access' })
    const mine = await uploaded('mine')
    const { body } = await callJson<{ id: string }[]>(certificatesUrl() + query)
    expect(body.result.map((c) => c.id)).toEqual([mine])
    const list = (await emulator.requests()).filter((r) => r.method === 'GET')
    expect(list.at(-1)!.query).toBe('type=custom%2Cgateway_managed')
  })

  it('forwards a type given 32 times as one value, and refuses more values than that', async () => {
    const repeated = (n: number) => '?' + Array.from({ length: n }, () => 'type=custom').join('&')
    const { status } = await callJson(certificatesUrl() + repeated(32))
    expect(status).toBe(200)
    const list = (await emulator.requests()).filter((r) => r.method === 'GET')
    expect(list.map((r) => r.query)).toEqual(['type=custom'])
    const refused = await callJson(certificatesUrl() + repeated(1000))
    expect([refused.status, refused.body.errors[0]!.code]).toEqual([400, 18103])
    expect(refused.body.errors[0]!.source).toEqual({ pointer: '/type' })
    expect((await emulator.requests()).filter((r) => r.method === 'GET')).toHaveLength(1)
  })

  it('applies ca and name (as wrangler sends them) itself and forwards neither', async () => {
    await uploaded('root-ca', true)
    const leaf = await uploaded('leaf', false)
    const { body } = await callJson<{ id: string }[]>(
      `${certificatesUrl()}?ca=false&name=leaf&page=1&per_page=50`,
    )
    expect(body.result.map((c) => c.id)).toEqual([leaf])
    expect(body.result_info).toMatchObject({ count: 1, total_count: 1 })
    const list = (await emulator.requests()).filter((r) => r.method === 'GET')
    expect(list.at(-1)!.query).toBe('')
  })

  it('lists associations', async () => {
    const id = await uploaded('associated')
    await emulator.setAssociations(id, [{ service: 'gateway', status: 'pending_deployment' }])
    const { status, body } = await callJson(`${certificateUrl(id)}/associations`)
    expect(status).toBe(200)
    expect(body).toMatchObject({
      success: true,
      result: [{ service: 'gateway', status: 'pending_deployment' }],
      result_info: { count: 1, page: 1 },
    })
  })

  it('deletes a certificate and returns it; it is then gone', async () => {
    const id = await uploaded('delete-me')
    const { status, body } = await callJson(certificateUrl(id), { method: 'DELETE' })
    expect(status).toBe(200)
    expect(body).toMatchObject({ success: true, result: { id, name: 'delete-me' } })
    expect((await callJson(certificateUrl(id))).status).toBe(404)
  })

  it('relays the refusal to delete a certificate in use, and it stays', async () => {
    const id = await uploaded('in-use')
    await emulator.setAssociations(id, [{ service: 'gateway', status: 'available' }])
    const { status, body } = await callJson(certificateUrl(id), { method: 'DELETE' })
    expect(status).toBe(400)
    expect(body.success).toBe(false)
    expect((await callJson(certificateUrl(id))).status).toBe(200)
  })

  it('tolerates a DELETE with Content-Type: application/json and no body (SDK v4-v6)', async () => {
    const id = await uploaded('sdk-delete')
    const { status } = await callJson(certificateUrl(id), {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
    })
    expect(status).toBe(200)
  })

  it('accepts 32-hex certificate ids, as the SDKs test with', async () => {
    const { status, body } = await callJson(certificateUrl('023e105f4ecef8ad9ca31a8372d0c353'))
    expect(status).toBe(404)
    expect(body.errors[0]!.code).toBe(1472)
  })
})

describe('routing', () => {
  it('serves its OpenAPI description, with the five upstream paths and the gateway endpoints', async () => {
    const response = await call('https://gateway.test/openapi.json', { key: null })
    expect(response.status).toBe(200)
    const doc = (await response.json()) as { openapi: string; paths: Record<string, unknown> }
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/client/v4/accounts/{account_id}/mtls_certificates',
        '/client/v4/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}',
        '/client/v4/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/associations',
        '/gateway/v1/whoami',
        '/gateway/v1/explain',
        '/gateway/v1/audit',
      ]),
    )
  })

  it('answers an unknown route with 404 and 7003 in the envelope', async () => {
    const { status, body } = await callJson(`${certificatesUrl()}/x/y/z`)
    expect(status).toBe(404)
    expect(body).toEqual({
      success: false,
      errors: [{ code: 7003, message: 'No route for the URI' }],
      messages: [],
      result: null,
    })
  })

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const { response, body } = await callJson(certificatesUrl(), { method: 'PUT' })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toContain('POST')
    expect(body.errors[0]!.code).toBe(18405)
    expect(await emulator.requests()).toEqual([])
  })

  it('gives every answer a fresh request id, ignoring one the caller sends', async () => {
    const { response } = await callJson(certificatesUrl(), {
      headers: { 'x-request-id': 'chosen-by-caller' },
    })
    expect(response.headers.get('x-request-id')).toMatch(UUID)
  })
})
