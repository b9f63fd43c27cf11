/**
 * Nothing lost: when the audit log cannot be written, changes are refused and never reach the
 * upstream; reads, which may be recorded late, still work.
 */
import { env } from 'cloudflare:test'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { exampleCa } from '../kit/fixtures'
import { auditKeys, expectNoSecretsInAudit } from '../support/audit'
import { emulator } from '../support/emulator'
import { callJson, certificateUrl, certificatesUrl, upload, uploadedId } from '../support/gateway'
import { failing, failingWrites } from '../support/kv'

beforeEach(async () => {
  await emulator.reset()
})

afterAll(async () => {
  await expectNoSecretsInAudit()
})

describe('an audit log that refuses writes', () => {
  it('refuses an upload with 503 18401 and forwards nothing', async () => {
    const AUDIT = failingWrites()
    const { status, body, response } = await upload(
      { ca: true, certificates: exampleCa, name: 'never-sent' },
      { env: { AUDIT } },
    )
    expect(status).toBe(503)
    expect(body.errors.map((e) => e.code)).toEqual([18401])
    expect(response.headers.get('x-should-retry')).toBe('false')
    expect(await emulator.requests()).toEqual([])
  })

  it('refuses a delete with 503 18401 and forwards nothing', async () => {
    const id = await uploadedId({ ca: true, certificates: exampleCa })
    const before = (await emulator.requests()).length
    const { status, body } = await callJson(certificateUrl(id), {
      method: 'DELETE',
      env: { AUDIT: failingWrites() },
    })
    expect(status).toBe(503)
    expect(body.errors.map((e) => e.code)).toEqual([18401])
    // Only the associations lookup (a read) reached the upstream, never the delete.
    expect((await emulator.requests()).slice(before).map((r) => r.method)).toEqual(['GET'])
    // The certificate is still there: the delete never happened.
    expect((await callJson(certificateUrl(id))).status).toBe(200)
  })

  it('still serves reads', async () => {
    const AUDIT = failingWrites()
    expect((await callJson(certificatesUrl(), { env: { AUDIT } })).status).toBe(200)
    const id = await uploadedId({ ca: true, certificates: exampleCa })
    expect((await callJson(certificateUrl(id), { env: { AUDIT } })).status).toBe(200)
    expect((await callJson(`${certificateUrl(id)}/associations`, { env: { AUDIT } })).status).toBe(
      200,
    )
  })

  it('records a change refused for want of its pending entry as refused, never as pending or done', async () => {
    // The pending write fails; the final one (after the answer) succeeds: a KV hiccup.
    let puts = 0
    const hiccup = failing(env.AUDIT, { puts: () => puts++ === 0 })
    const { status, response } = await upload(
      { ca: true, certificates: exampleCa, name: 'half-recorded' },
      { env: { AUDIT: hiccup } },
    )
    expect(status).toBe(503)
    expect(await emulator.requests()).toEqual([])
    const id = response.headers.get('x-request-id')!
    const left = (await auditKeys()).filter((key) => key.name.endsWith(`:${id}`))
    // One key, the event's: the one record of the request says the upload was refused.
    expect(left.map((key) => key.name)).toEqual([expect.stringMatching(/^v1:e:/)])
    expect(JSON.parse(left[0]!.value!)).toMatchObject({
      id,
      action: 'upload',
      certificate_name: 'half-recorded',
      outcome: { class: 'gateway_error', status: 503, error_codes: [18401] },
    })
  })
})

describe('a gateway without an audit log', () => {
  it('refuses to serve (503 18501) without the AUDIT binding or the signing key', async () => {
    for (const env of [
      { AUDIT: undefined },
      { AUDIT_SIGNING_KEY: undefined },
      { AUDIT_SIGNING_KEY: 'short' },
    ]) {
      const { status, body } = await callJson(certificatesUrl(), { env: env as never })
      expect(status).toBe(503)
      expect(body.errors[0]!.code).toBe(18501)
    }
    expect(await emulator.requests()).toEqual([])
  })
})
