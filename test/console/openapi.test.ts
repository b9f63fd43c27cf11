/**
 * /openapi.json describes the API from the schemas that validate it (one source): the review
 * endpoints' parameters are the validators' fields, the console's audit form sends exactly those
 * parameters, the security schemes are declared, and the console's HTML pages are deliberately
 * left out. What a developer portal needs is there: every operation with a summary, a description
 * and a tag the document declares, servers, a licence and a contact; and the failure responses
 * come from the code table, each code under its own status, as the gateway really answers them.
 * (That it is a valid OpenAPI 3.1 document, and passes Redocly's recommended lint, is checked in
 * Node: test/e2e/openapi.contract.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import { auditQuery, exportQuery, verifyQuery } from '../../src/audit/routes'
import { ERROR_CODES, type ErrorKind } from '../../src/lib/errors'
import { call } from '../support/gateway'
import { KEYS } from '../support/identities'
import { Browser } from './support'

interface Response {
  description: string
  content?: Record<string, { schema?: unknown; examples?: Record<string, { $ref?: string }> }>
}

interface Operation {
  operationId: string
  summary?: string
  description?: string
  tags?: string[]
  parameters?: { name: string; in: string }[]
  requestBody?: unknown
  responses: Record<string, Response>
}

interface Doc {
  openapi: string
  info: { license?: { name: string; identifier?: string }; contact?: { name?: string } }
  servers?: { url: string; variables?: Record<string, { default: string }> }[]
  tags?: { name: string; description?: string }[]
  security: Record<string, string[]>[]
  paths: Record<string, Record<string, Operation>>
  components: {
    securitySchemes: Record<string, { type: string }>
    schemas: Record<string, unknown>
    examples: Record<string, { summary: string; value: { errors: { code: number }[] } }>
  }
}

const operationsOf = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op })),
  )

/** The kinds a failure response names, each through its example in the components. */
const kindsOf = (response: Response) =>
  Object.values(response.content?.['application/json']?.examples ?? {}).map(
    (example) => example.$ref!.replace('#/components/examples/', '') as ErrorKind,
  )

async function document(): Promise<Doc> {
  return (await (await call('https://gateway.test/openapi.json', { key: null })).json()) as Doc
}

const queryNames = (doc: Doc, path: string) =>
  (doc.paths[path]!.get!.parameters ?? [])
    .filter((p) => p.in === 'query')
    .map((p) => p.name)
    .sort()

describe('/openapi.json', () => {
  it('is OpenAPI 3.1 with both ways to authenticate as security schemes', async () => {
    const doc = await document()
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.components.securitySchemes).toMatchObject({
      gatewayKey: { type: 'http', scheme: 'bearer' },
      accessAssertion: { type: 'apiKey', in: 'header', name: 'Cf-Access-Jwt-Assertion' },
    })
    expect(doc.security).toEqual([{ gatewayKey: [] }, { accessAssertion: [] }])
  })

  it('lists each review query parameter exactly as its validator declares it', async () => {
    const doc = await document()
    expect(queryNames(doc, '/gateway/v1/audit')).toEqual(Object.keys(auditQuery.shape).sort())
    expect(queryNames(doc, '/gateway/v1/audit/export')).toEqual(
      Object.keys(exportQuery.shape).sort(),
    )
    expect(queryNames(doc, '/gateway/v1/audit/verify')).toEqual(
      Object.keys(verifyQuery.shape).sort(),
    )
  })

  it('names the parameters the console’s audit form sends (the form is the API’s query)', async () => {
    const doc = await document()
    const browser = new Browser()
    await browser.signIn(KEYS.auditor)
    const page = await browser.get('/console/audit')
    const form = /<form method="get" action="\/console\/audit"[\s\S]*?<\/form>/.exec(page.html)![0]
    const fields = [...form.matchAll(/ name="([^"]+)"/g)].map((m) => m[1]!).sort()
    // The cursor travels in the "next page" link, not in the form.
    expect(fields).toEqual(queryNames(doc, '/gateway/v1/audit').filter((n) => n !== 'cursor'))
  })

  it('describes every gateway and review endpoint, and no console page', async () => {
    const doc = await document()
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/client/v4/accounts/{account_id}/mtls_certificates',
      '/client/v4/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}',
      '/client/v4/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/associations',
      '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/acknowledge',
      '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/owner',
      '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/successor',
      '/gateway/v1/accounts/{account_id}/notices/{notice_id}/requeue', // issue 23
      '/gateway/v1/accounts/{account_id}/transfers',
      '/gateway/v1/approvals',
      '/gateway/v1/approvals/{approval_id}',
      '/gateway/v1/approvals/{approval_id}/approve',
      // Issue 22.
      '/gateway/v1/approvals/{approval_id}/reject',
      '/gateway/v1/approvals/{approval_id}/review',
      '/gateway/v1/approvals/{approval_id}/withdraw',
      '/gateway/v1/audit',
      '/gateway/v1/audit/checkpoint',
      '/gateway/v1/audit/checkpoints',
      '/gateway/v1/audit/export',
      '/gateway/v1/audit/public-key',
      '/gateway/v1/audit/verify',
      '/gateway/v1/audit/verify/chain',
      '/gateway/v1/budget/breaker/close',
      '/gateway/v1/expiring',
      '/gateway/v1/expiring/calendar',
      '/gateway/v1/explain',
      '/gateway/v1/members', // issue 20, slice 4
      '/gateway/v1/members/keys/{key_id}/revoke',
      '/gateway/v1/members/keys/{key_id}/rotate',
      '/gateway/v1/notices', // issue 23
      // Issue 20
      '/gateway/v1/policy',
      '/gateway/v1/policy/proposals',
      '/gateway/v1/policy/proposals/{proposal_id}',
      '/gateway/v1/policy/proposals/{proposal_id}/approve',
      '/gateway/v1/policy/proposals/{proposal_id}/reject',
      '/gateway/v1/policy/proposals/{proposal_id}/what-if', // control-api
      '/gateway/v1/policy/revisions/{revision_id}/diff', // control-api
      '/gateway/v1/policy/rollback',
      '/gateway/v1/transfers/{transfer_id}/approve',
      '/gateway/v1/whoami',
    ])
    expect(doc.components.schemas).toHaveProperty('AuditEntry')
    expect(JSON.stringify(doc)).toContain('"errors"')
  })
})

describe('/openapi.json, as a developer portal renders it', () => {
  it('gives every operation a summary, a description and a tag the document declares once', async () => {
    const doc = await document()
    const declared = (doc.tags ?? []).map((tag) => tag.name)
    expect(new Set(declared).size).toBe(declared.length)
    for (const tag of doc.tags ?? []) expect(tag.description, tag.name).toBeTruthy()
    const used = new Set<string>()
    for (const { path, method, op } of operationsOf(doc)) {
      const name = `${method} ${path}`
      expect(op.summary, name).toMatch(/\S/)
      expect(op.description, name).toMatch(/\S/)
      expect(op.tags, name).toHaveLength(1)
      expect(declared, name).toContain(op.tags![0])
      used.add(op.tags![0]!)
    }
    expect([...used].sort()).toEqual([...declared].sort())
  })

  it('names its servers (this origin, relatively, and a deployed one), a licence and a contact', async () => {
    const doc = await document()
    expect(doc.servers?.[0]?.url).toBe('/')
    const templated = doc.servers?.find((server) => server.url.includes('{'))
    expect(templated?.variables).toBeDefined()
    for (const name of templated!.url.match(/\{([^}]+)\}/g)!) {
      expect(templated!.variables![name.slice(1, -1)]?.default).toBeTruthy()
    }
    expect(doc.info.license?.name).toBeTruthy()
    expect(doc.info.license?.identifier).toBeTruthy()
    expect(doc.info.contact?.name).toBeTruthy()
  })

  it('declares each failure under its status, from the code table, with its example', async () => {
    const doc = await document()
    for (const { path, method, op } of operationsOf(doc)) {
      const name = `${method} ${path}`
      const failures = Object.entries(op.responses).filter(([status]) => Number(status) >= 400)
      // What every authenticated operation can answer, whatever it does.
      expect(
        failures.map(([status]) => status),
        name,
      ).toEqual(expect.arrayContaining(['401', '403', '429', '500', '503']))
      for (const [status, response] of failures) {
        const kinds = kindsOf(response)
        expect(kinds.length, `${name} ${status}`).toBeGreaterThan(0)
        expect(response.content!['application/json']!.schema).toEqual({
          $ref: '#/components/schemas/ErrorEnvelope',
        })
        for (const kind of kinds) {
          const { code, status: answered } = ERROR_CODES[kind]
          expect(answered, `${name}: ${kind} under ${status}`).toBe(Number(status))
          expect(response.description, `${name} ${status}`).toContain(String(code))
          expect(doc.components.examples[kind]!.value.errors[0]!.code).toBe(code)
        }
      }
      // Its request's validation: a path parameter, a query or a body can be refused.
      if ((op.parameters ?? []).length > 0 || op.requestBody !== undefined) {
        expect(op.responses, name).toHaveProperty('400')
      }
    }
  })

  it('declares what each operation answers without credentials and with a malformed account id', async () => {
    const doc = await document()
    const account = '0123456789abcdef0123456789abcdef'
    const certificate = '2458ce5a-0c35-4c7f-82c7-8e9487d3ff60'
    const concrete = (path: string, accountId: string) =>
      'https://gateway.test' +
      path
        .replace('{account_id}', accountId)
        .replace('{mtls_certificate_id}', certificate)
        .replace(/\{(approval_id|transfer_id)\}/, crypto.randomUUID())
    const answered = async (url: string, method: string, key?: null) => {
      const response = await call(url, {
        method: method.toUpperCase(),
        ...(key === null ? { key } : {}),
        ...(method === 'get' || method === 'delete'
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: '{}' }),
      })
      const body = (await response.json()) as { errors: { code: number }[] }
      return { status: String(response.status), codes: body.errors.map((e) => e.code) }
    }
    const declares = (op: Operation, status: string, code: number) =>
      kindsOf(op.responses[status] ?? { description: '' }).some(
        (kind) => ERROR_CODES[kind].code === code,
      )
    for (const { path, method, op } of operationsOf(doc)) {
      const name = `${method} ${path}`
      const refused = await answered(concrete(path, account), method, null)
      expect(refused.status, name).toBe('401')
      expect(declares(op, refused.status, refused.codes[0]!), name).toBe(true)
      if (!path.includes('{account_id}')) continue
      const invalid = await answered(concrete(path, 'NOT-AN-ACCOUNT'), method)
      expect(invalid.status, name).toBe('400')
      for (const code of invalid.codes)
        expect(declares(op, '400', code), `${name} ${code}`).toBe(true)
    }
  })
})

describe("the console's API reference", () => {
  it('shows each declared tag with its description, each operation with its summary, its failures folded', async () => {
    const doc = await document()
    const page = await new Browser().get('/console/reference')
    expect(page.status).toBe(200)
    const escaped = (text: string) =>
      text
        .replaceAll('&', '&amp;')
        .replaceAll('<', '&lt;')
        .replaceAll('>', '&gt;')
        .replaceAll('"', '&quot;')
        .replaceAll("'", '&#39;')
    for (const tag of doc.tags!) {
      expect(page.html).toContain(`<h2 id="tag-${escaped(tag.name)}">${escaped(tag.name)}</h2>`)
      expect(page.html).toContain(escaped(tag.description!))
    }
    for (const { op } of operationsOf(doc)) expect(page.html).toContain(escaped(op.summary!))
    // Each operation's failures folded under one line, so that what it does stays in view.
    expect(page.html.match(/<summary>Failures: 4\d\d, /g)).toHaveLength(operationsOf(doc).length)
  })
})
