/**
 * The five upstream endpoints: upload (computed fields, duplicates, CA quota, validation), list
 * (type, ca and name filters), get, delete (in-use refusal) and associations.
 */
import { KEYS, keyCases } from '../../test/fixtures/keys'
import { beforeEach, describe, expect, it } from 'vitest'

import { makeCertificate, type SigningAlgorithm } from '../../test/kit/certificates'
import { exampleCa as pem, exampleKey as key } from '../../test/kit/fixtures'
import {
  ACCOUNT,
  call,
  callJson,
  control,
  resetEmulator,
  upload,
  type Certificate,
} from './helpers'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/

beforeEach(() => resetEmulator())

describe('upload', () => {
  it('computes the documented fields for the example CA', async () => {
    const { status, body } = await upload({ ca: true, certificates: pem, name: 'example_ca_cert' })
    expect(status).toBe(200)
    expect(body).toMatchObject({ success: true, errors: [], messages: [] })
    expect(body.result).toEqual({
      id: expect.stringMatching(UUID),
      ca: true,
      certificates: pem.replace(/\n+$/, ''),
      expires_on: '2122-10-29T16:59:47Z',
      issuer: 'O=Example Inc.,L=California,ST=San Francisco,C=US',
      name: 'example_ca_cert',
      serial_number: '235217144297995885180570755458463043449861756659',
      signature: 'SHA256WithRSA',
      type: 'custom',
      updated_at: expect.stringMatching(MICROS),
      uploaded_on: expect.stringMatching(MICROS),
    })
    expect(body.result.updated_at).toBe(body.result.uploaded_on)
    expect('result_info' in body).toBe(false)
  })

  it('never stores or returns the private key', async () => {
    const { body } = await upload({ ca: true, certificates: pem, private_key: key })
    expect(JSON.stringify(body)).not.toContain('PRIVATE KEY')
    const got = await callJson(`/${body.result.id}`)
    expect(JSON.stringify(got.body)).not.toContain('PRIVATE KEY')
  })

  it('omits name when it is absent, empty or null', async () => {
    for (const name of [undefined, '', null]) {
      await resetEmulator()
      const { body } = await upload({ ca: true, certificates: pem, name })
      expect(body.result).not.toHaveProperty('name')
    }
  })

  it('trims trailing newlines (LF and CRLF) and keeps the rest of the PEM as sent', async () => {
    const crlf = pem.replace(/\n/g, '\r\n') + '\r\n\r\n'
    const { body } = await upload({ ca: true, certificates: crlf })
    expect(body.result.certificates).toBe(crlf.replace(/(\r\n)+$/, ''))
  })

  it('reads a leaf (ca:false), an EC certificate and a chain from the first certificate', async () => {
    const root = await makeCertificate({ subject: 'CN=Root CA,O=Localhost Root CA', ca: true })
    const leaf = await makeCertificate({
      subject: 'CN=leaf.example',
      issuer: root,
      serialNumber: '0a0b',
      notAfter: new Date('2030-05-06T07:08:09.999Z'),
    })
    const { status, body } = await upload({ ca: false, certificates: `${leaf.pem}\n${root.pem}\n` })
    expect(status).toBe(200)
    expect(body.result).toMatchObject({
      ca: false,
      issuer: 'CN=Root CA,O=Localhost Root CA',
      serial_number: String(0x0a0b),
      signature: 'ECDSAWithSHA256',
      expires_on: '2030-05-06T07:08:09Z',
    })
  })

  it('names RSA-PSS and ECDSA-SHA384 signatures as Go does', async () => {
    const pss = await makeCertificate({
      kind: 'rsa-pss',
      signingAlgorithm: { name: 'RSA-PSS', saltLength: 32 } as SigningAlgorithm,
    })
    expect((await upload({ ca: false, certificates: pss.pem })).body.result.signature).toBe(
      'SHA256WithRSAPSS',
    )
    const ec = await makeCertificate({
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as SigningAlgorithm,
    })
    const { body } = await upload({ ca: false, certificates: ec.pem })
    expect(body.result.signature).toBe('ECDSAWithSHA384')
  })

  it('refuses the same certificate bytes twice in one account, but not in another', async () => {
    expect((await upload({ ca: true, certificates: pem })).status).toBe(200)
    const again = await upload({ ca: true, certificates: `${pem}\n\n`, name: 'other' })
    expect(again.status).toBe(400)
    expect(again.body).toEqual({
      success: false,
      errors: [{ code: 1471, message: 'This certificate already exists' }],
      messages: [],
      result: null,
    })
    const other = await callJson(
      'https://api.cloudflare.com/client/v4/accounts/other/mtls_certificates',
      {
        method: 'POST',
        json: { ca: true, certificates: pem },
      },
    )
    expect(other.status).toBe(200)
  })

  it('enforces the CA quota (5 by default, configurable); leaf uploads do not count', async () => {
    for (let i = 0; i < 5; i++) {
      const ca = await makeCertificate({ subject: `CN=CA ${i}`, ca: true })
      expect((await upload({ ca: true, certificates: ca.pem })).status).toBe(200)
    }
    const leaf = await makeCertificate({ subject: 'CN=leaf' })
    expect((await upload({ ca: false, certificates: leaf.pem })).status).toBe(200)
    const sixth = await makeCertificate({ subject: 'CN=CA 6', ca: true })
    const refused = await upload({ ca: true, certificates: sixth.pem })
    expect(refused.status).toBe(400)
    expect(refused.body.errors).toEqual([
      { code: 1489, message: 'Hit maximum CA cert allocation.' },
    ])
    const list = await callJson<Certificate[]>('')
    expect(list.body.result).toHaveLength(6)

    await control('PUT', '/limits', { ca_certificates_per_account: 6 })
    expect((await upload({ ca: true, certificates: sixth.pem })).status).toBe(200)
  })

  it('refuses ca:true for a certificate without basicConstraints CA:TRUE', async () => {
    const leaf = await makeCertificate({ subject: 'CN=not a ca' })
    const { status, body } = await upload({ ca: true, certificates: leaf.pem })
    expect(status).toBe(400)
    expect(body.errors[0]?.code).toBe(1477)
  })

  it.each([
    ['empty', ''],
    ['not PEM', 'hello'],
    ['a private key', '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----'],
    [
      'certificate plus key',
      `${pem}\n-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----`,
    ],
    ['bad base64', '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----'],
    ['not a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'],
    ['mismatched labels', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END PUBLIC KEY-----'],
  ])('answers "unable to parse certificate" for %s', async (_, certificates) => {
    const { status, body } = await upload({ ca: false, certificates })
    expect(status).toBe(400)
    expect(body.errors).toEqual([{ code: 1476, message: 'unable to parse certificate' }])
  })

  it('reads certificate blocks with header lines as Go does: the headers are skipped', async () => {
    const headed = pem.replace('CERTIFICATE-----\n', 'CERTIFICATE-----\nComment: from a tool\n\n')
    const { status, body } = await upload({ ca: true, certificates: headed })
    expect(status).toBe(200)
    expect(body.result.serial_number).toBe('235217144297995885180570755458463043449861756659')
  })

  it.each([
    ...keyCases.matching,
    ['a P-256 SEC1 key after its EC PARAMETERS block', KEYS.p256Cert, KEYS.p256WithParams],
    ['an RSA PKCS#1 key with CRLF line ends', KEYS.rsaCert, KEYS.rsaPkcs1.replace(/\n/g, '\r\n')],
    // Not emulated: whether the key belongs to the certificate.
    ['a key of another certificate', KEYS.rsaCert, KEYS.otherRsaPkcs1],
  ])('accepts a private_key that is %s, and never returns it', async (_, certificates, key) => {
    const { status, body } = await upload({ ca: false, certificates, private_key: key })
    expect(status).toBe(200)
    expect(JSON.stringify(body)).not.toContain('PRIVATE KEY')
  })

  it.each([
    ['not PEM', 'secret'],
    ['a certificate', pem],
    ['a public key', '-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----'],
    ['an encrypted PKCS#8 key', KEYS.rsaEncrypted],
    ['a legacy encrypted PKCS#1 key (Proc-Type, DEK-Info)', KEYS.rsaLegacyEncrypted],
    ['a legacy encrypted SEC1 key (Proc-Type, DEK-Info)', KEYS.p256LegacyEncrypted],
    [
      'a key block whose data is no key',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
    ],
  ])('answers 400/1479 for a private_key that is %s, and stores nothing', async (_, key) => {
    const { status, body } = await upload({
      ca: false,
      certificates: KEYS.rsaCert,
      private_key: key,
    })
    expect(status).toBe(400)
    expect(body.errors).toEqual([{ code: 1479, message: 'unable to parse private key' }])
    expect((await callJson<Certificate[]>('')).body.result).toEqual([])
  })

  it('answers 6007 for a body that is not JSON', async () => {
    const res = await call('', {
      method: 'POST',
      body: '{"ca": tru',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { errors: unknown[] }).errors).toEqual([
      { code: 6007, message: 'Malformed JSON in request body' },
    ])
  })

  it('answers 1470 with a JSON pointer per invalid or missing field', async () => {
    const missing = await upload({})
    expect(missing.status).toBe(400)
    expect(missing.body.errors).toEqual([
      { code: 1470, message: 'ca: is required', source: { pointer: '/ca' } },
      { code: 1470, message: 'certificates: is required', source: { pointer: '/certificates' } },
    ])
    const wrong = await upload({ ca: 'yes', certificates: pem, name: 5, private_key: true })
    expect(wrong.body.errors.map((e) => e.source?.pointer)).toEqual([
      '/ca',
      '/name',
      '/private_key',
    ])
    const array = await callJson('', { method: 'POST', json: [] })
    expect(array.body.errors[0]).toMatchObject({ code: 1470, source: { pointer: '' } })
  })
})

describe('list', () => {
  it('lists the account in upload order as one page', async () => {
    const empty = await callJson<Certificate[]>('')
    expect(empty.body.result).toEqual([])
    expect(empty.body.result_info).toEqual({
      count: 0,
      page: 1,
      per_page: 50,
      total_count: 0,
      total_pages: 1,
    })

    const a = (await upload({ ca: true, certificates: pem, name: 'a' })).body.result
    const b = (await upload({ ca: false, certificates: (await makeCertificate()).pem })).body.result
    await callJson('https://api.cloudflare.com/client/v4/accounts/elsewhere/mtls_certificates', {
      method: 'POST',
      json: { ca: false, certificates: (await makeCertificate()).pem },
    })
    const { status, body } = await callJson<Certificate[]>('?page=3&per_page=1&limit=1&offset=1')
    expect(status).toBe(200)
    expect(body.result.map((c) => c.id)).toEqual([a.id, b.id])
    expect(body.result[0]).not.toHaveProperty('updated_at')
    expect(body.result_info).toEqual({
      count: 2,
      page: 1,
      per_page: 50,
      total_count: 2,
      total_pages: 1,
    })
  })

  it('filters by type, comma-separated or repeated', async () => {
    const custom = (await upload({ ca: true, certificates: pem })).body.result
    const seed = async (type: string) =>
      (
        (await (
          await control('POST', '/certificates', { account_id: ACCOUNT, certificate: { type } })
        ).json()) as {
          certificate: Certificate
        }
      ).certificate
    const gateway = await seed('gateway_managed')
    const access = await seed('access_managed')
    const ids = async (query: string) =>
      (await callJson<Certificate[]>(query)).body.result.map((c) => c.id)

    expect(await ids('?type=custom')).toEqual([custom.id])
    expect(await ids('?type=custom,gateway_managed')).toEqual([custom.id, gateway.id])
    expect(await ids('?type=custom&type=gateway_managed')).toEqual([custom.id, gateway.id])
    expect(await ids('?type=access_managed&type=custom,gateway_managed')).toEqual([
      custom.id,
      gateway.id,
      access.id,
    ])
    expect(await ids('?type=')).toHaveLength(3)
    expect(await ids('?type=nothing')).toEqual([])
  })

  /** Uploads CA and leaf certificates with the given names; returns their ids by label. */
  async function uploadNamed(entries: [label: string, ca: boolean, name?: string][]) {
    const ids: Record<string, string> = {}
    for (const [label, ca, name] of entries) {
      const { body } = await upload({ ca, certificates: (await makeCertificate({ ca })).pem, name })
      ids[label] = body.result.id
    }
    return ids
  }
  const listIds = async (query: string) => {
    const { status, body } = await callJson<Certificate[]>(query)
    expect(status).toBe(200)
    expect(body.result_info).toMatchObject({ count: body.result.length })
    expect(body.result_info).toMatchObject({ total_count: body.result.length })
    return body.result.map((c) => c.id)
  }

  it('filters by name: exact and case-sensitive, unnamed never match, empty means no filter', async () => {
    const id = await uploadNamed([
      ['alpha', false, 'alpha'],
      ['alpha again', true, 'alpha'],
      ['Alpha', false, 'Alpha'],
      ['alphabet', false, 'alphabet'],
      ['unnamed', false],
    ])
    expect(await listIds('?name=alpha')).toEqual([id.alpha, id['alpha again']])
    expect(await listIds('?name=Alpha')).toEqual([id.Alpha])
    expect(await listIds('?name=alp')).toEqual([])
    expect(await listIds('?name=alpha%20')).toEqual([])
    expect(await listIds('?name=')).toHaveLength(5)
    expect(await listIds('?name=Alpha&name=alpha')).toEqual([id.Alpha])
  })

  it('filters by ca as Go reads a boolean; anything else is 400/1473 on /ca', async () => {
    const id = await uploadNamed([
      ['root', true, 'root'],
      ['leaf', false, 'leaf'],
    ])
    const seeded = (await (
      await control('POST', '/certificates', { account_id: ACCOUNT, certificate: { name: 's' } })
    ).json()) as { certificate: Certificate }
    for (const value of ['true', 'TRUE', 'True', 't', 'T', '1']) {
      expect(await listIds(`?ca=${value}`)).toEqual([id.root])
    }
    for (const value of ['false', 'FALSE', 'False', 'f', 'F', '0']) {
      expect(await listIds(`?ca=${value}`)).toEqual([id.leaf, seeded.certificate.id])
    }
    expect(await listIds('?ca=')).toHaveLength(3)
    expect(await listIds('?ca=true&ca=false')).toEqual([id.root])
    for (const value of ['yes', 'tRUE', '2', ' true']) {
      const { status, body } = await callJson(`?ca=${encodeURIComponent(value)}`)
      expect(status).toBe(400)
      expect(body).toMatchObject({ success: false, result: null })
      expect(body.errors).toEqual([
        { code: 1473, message: 'ca: must be a boolean', source: { pointer: '/ca' } },
      ])
    }
  })

  it("answers wrangler's lookups by name: ca=false&name= finds the leaf only, name= alone both kinds", async () => {
    // What `wrangler mtls-certificate delete --name` and `wrangler cert delete --name` send.
    const id = await uploadNamed([
      ['ca', true, 'shared'],
      ['leaf', false, 'shared'],
      ['other leaf', false, 'other'],
    ])
    expect(await listIds('?ca=false&name=shared')).toEqual([id.leaf])
    expect(await listIds('?ca=false&name=other')).toEqual([id['other leaf']])
    expect(await listIds('?name=shared')).toEqual([id.ca, id.leaf])
    expect(await listIds('?ca=false')).toEqual([id.leaf, id['other leaf']])
    expect(await listIds('?ca=true&name=other')).toEqual([])
    expect(await listIds('?ca=false&name=shared&type=custom')).toEqual([id.leaf])
    expect(await listIds('?ca=false&name=shared&type=gateway_managed')).toEqual([])
  })
})

describe('get', () => {
  it('returns the certificate without updated_at', async () => {
    const created = (await upload({ ca: true, certificates: pem, name: 'n' })).body.result
    const { status, body } = await callJson<Certificate>(`/${created.id}`)
    expect(status).toBe(200)
    const { updated_at: _, ...expected } = created
    expect(body.result).toEqual(expected)
  })

  it("answers 404/1472 for an unknown id, another account's id, or a case variant", async () => {
    const created = (await upload({ ca: true, certificates: pem })).body.result
    for (const url of [
      '/2458ce5a-0c35-4c7f-82c7-8e9487d3ff60',
      '/023e105f4ecef8ad9ca31a8372d0c353',
      `/${created.id.toUpperCase()}`,
      `https://api.cloudflare.com/client/v4/accounts/other/mtls_certificates/${created.id}`,
    ]) {
      const { status, body } = await callJson(url)
      expect(status).toBe(404)
      expect(body).toEqual({
        success: false,
        errors: [{ code: 1472, message: 'Certificate not found' }],
        messages: [],
        result: null,
      })
    }
  })

  it('finds seeded certificates by any id form', async () => {
    await control('POST', '/certificates', {
      account_id: ACCOUNT,
      certificate: { id: 'weird id/+', name: 'w' },
    })
    const { status, body } = await callJson<Certificate>(`/${encodeURIComponent('weird id/+')}`)
    expect(status).toBe(200)
    expect(body.result).toEqual({ id: 'weird id/+', name: 'w' })
  })
})

describe('delete', () => {
  it('returns the deleted certificate; afterwards it is gone', async () => {
    const created = (await upload({ ca: true, certificates: pem })).body.result
    const { status, body } = await callJson<Certificate>(`/${created.id}`, { method: 'DELETE' })
    expect(status).toBe(200)
    expect(body.result.id).toBe(created.id)
    expect(body.result).not.toHaveProperty('updated_at')
    expect((await callJson(`/${created.id}`)).status).toBe(404)
    const again = await callJson(`/${created.id}`, { method: 'DELETE' })
    expect(again.status).toBe(404)
    expect(again.body.errors[0]?.code).toBe(1472)
    // Deleting frees the bytes for a new upload.
    expect((await upload({ ca: true, certificates: pem })).status).toBe(200)
  })

  it('refuses a certificate in use (400/1478) and keeps it', async () => {
    const created = (await upload({ ca: true, certificates: pem })).body.result
    await control('PUT', `/associations/${created.id}`, {
      associations: [{ service: 'gateway', status: 'pending_deployment' }],
    })
    const refused = await callJson(`/${created.id}`, { method: 'DELETE' })
    expect(refused.status).toBe(400)
    expect(refused.body.errors[0]?.code).toBe(1478)
    expect((await callJson(`/${created.id}`)).status).toBe(200)

    await control('PUT', `/associations/${created.id}`, { associations: [] })
    expect((await callJson(`/${created.id}`, { method: 'DELETE' })).status).toBe(200)
  })
})

describe('associations', () => {
  it('lists associations with per_page 20; empty when none', async () => {
    const created = (await upload({ ca: true, certificates: pem })).body.result
    const empty = await callJson(`/${created.id}/associations`)
    expect(empty.status).toBe(200)
    expect(empty.body.result).toEqual([])
    expect(empty.body.result_info).toEqual({
      count: 0,
      page: 1,
      per_page: 20,
      total_count: 0,
      total_pages: 1,
    })

    const list = [
      { service: 'gateway', status: 'pending_deployment' },
      { service: 'api_shield', status: 'active' },
    ]
    await control('PUT', `/associations/${created.id}`, { associations: list })
    const { body } = await callJson(`/${created.id}/associations`)
    expect(body.result).toEqual(list)
    expect(body.result_info).toEqual({
      count: 2,
      page: 1,
      per_page: 20,
      total_count: 2,
      total_pages: 1,
    })
  })

  it('answers 404/1472 for an unknown certificate', async () => {
    const { status, body } = await callJson('/nope/associations')
    expect(status).toBe(404)
    expect(body.errors[0]?.code).toBe(1472)
  })
})
