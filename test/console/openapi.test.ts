/**
 * /openapi.json describes the API from the schemas that validate it (one source): the review
 * endpoints' parameters are the validators' fields, the console's audit form sends exactly those
 * parameters, the security schemes are declared, and the console's HTML pages are deliberately
 * left out. (That it is a valid OpenAPI 3.1 document is checked with a validator in Node:
 * test/e2e/openapi.contract.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import { auditQuery, exportQuery, verifyQuery } from '../../src/audit/routes'
import { call } from '../support/gateway'
import { KEYS } from '../support/identities'
import { Browser } from './support'

interface Doc {
  openapi: string
  security: Record<string, string[]>[]
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>
  components: {
    securitySchemes: Record<string, { type: string }>
    schemas: Record<string, unknown>
  }
}

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
      '/gateway/v1/accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/owner',
      '/gateway/v1/accounts/{account_id}/transfers',
      '/gateway/v1/approvals',
      '/gateway/v1/approvals/{approval_id}',
      '/gateway/v1/approvals/{approval_id}/approve',
      '/gateway/v1/audit',
      '/gateway/v1/audit/checkpoint',
      '/gateway/v1/audit/checkpoints',
      '/gateway/v1/audit/export',
      '/gateway/v1/audit/public-key',
      '/gateway/v1/audit/verify',
      '/gateway/v1/audit/verify/chain',
      '/gateway/v1/budget/breaker/close',
      '/gateway/v1/explain',
      '/gateway/v1/transfers/{transfer_id}/approve',
      '/gateway/v1/whoami',
    ])
    expect(doc.components.schemas).toHaveProperty('AuditEntry')
    expect(JSON.stringify(doc)).toContain('"errors"')
  })
})
