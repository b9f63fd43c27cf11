/**
 * The public key the gateway publishes for auditors (GET /gateway/v1/audit/public-key): the public
 * half only, with a key id worked out from it, never the private key it signs with; for auditors,
 * as the rest of the audit API.
 */
import { describe, expect, it } from 'vitest'
import { keyIdOf, signText } from '../../src/audit/ed25519'
import { GatewayError } from '../../src/lib/errors'
import { expectNoSecretsInAudit } from '../support/audit'
import { GATEWAY, call, callJson } from '../support/gateway'
import { AUDIT_ED25519_JWK, AUDIT_ED25519_PRIVATE_KEY, KEYS } from '../support/identities'

const URL = `${GATEWAY}/audit/public-key`

describe('the audit public key', () => {
  it('is the public half alone, named by its RFC 7638 thumbprint', async () => {
    const response = await call(URL, { key: KEYS.auditor })
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).not.toContain(AUDIT_ED25519_JWK.d)
    expect(text).not.toContain('"d"')
    const { result } = JSON.parse(text) as { result: Record<string, unknown> }
    expect(result).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: AUDIT_ED25519_JWK.x,
      kid: await keyIdOf(AUDIT_ED25519_JWK.x),
      alg: 'EdDSA',
      use: 'sig',
    })
  })

  it('is for those who may read the audit log, and takes no parameters', async () => {
    const denied = await callJson(URL, { key: KEYS.alice })
    expect([denied.status, denied.body.errors[0]!.code]).toEqual([403, 18301])
    const anonymous = await callJson(URL, { key: null })
    expect(anonymous.status).toBe(401)
    const extra = await callJson(`${URL}?d=1`, { key: KEYS.auditor })
    expect(extra.status).toBe(400)
    expect(extra.body.errors[0]!.source).toEqual({ pointer: '/d' })
  })

  it('leaves the private key out of the audit log too', async () => {
    await call(URL, { key: KEYS.auditor })
    await expectNoSecretsInAudit([AUDIT_ED25519_PRIVATE_KEY])
  })

  it('refuses to sign with a secret whose public half is another key (503 / 18501)', async () => {
    const mismatched = { ...AUDIT_ED25519_JWK, x: 'chOUKUGVwHrX6kdDtHVbyrehYu7Ayvvu55bH0jZEDLA' }
    const refused = await signText(mismatched, 'anything').catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(GatewayError)
    expect((refused as GatewayError).status).toBe(503)
  })
})
