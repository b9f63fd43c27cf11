/**
 * What a request costs the audit log in KV writes (store.ts): one key per entry, so one write per
 * read, and two per change (the pending entry before it is forwarded, the final one after). KV's
 * free plan allows 1,000 writes a day; this is the figure that divides it.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { makeCertificate } from '../kit/certificates'
import { emulator } from '../support/emulator'
import { call, certificateUrl, certificatesUrl, uploadedId } from '../support/gateway'
import { KEYS } from '../support/identities'
import { counting } from '../support/kv'

beforeEach(async () => {
  await emulator.reset()
})

/** KV calls of the AUDIT namespace made by one request, its after-the-answer writes included. */
async function auditCalls(url: string, init: RequestInit & { key?: string } = {}) {
  const { kv, calls } = counting()
  const response = await call(url, { key: KEYS.alice, env: { AUDIT: kv }, ...init })
  return { status: response.status, calls }
}

describe('KV writes per request', () => {
  it('is one for each read, whatever it names, and none is a read of KV', async () => {
    const id = await uploadedId({}, { key: KEYS.alice })
    for (const url of [
      certificatesUrl(),
      certificateUrl(id),
      `${certificateUrl(id)}/associations`,
    ]) {
      const { status, calls } = await auditCalls(url)
      expect(status, url).toBe(200)
      expect(calls, url).toEqual({ put: 1 })
    }
  })

  it('is one for a refused read too', async () => {
    const id = await uploadedId({}, { key: KEYS.carol })
    const { status, calls } = await auditCalls(certificateUrl(id))
    expect(status).toBe(404)
    expect(calls).toEqual({ put: 1 })
  })

  it('is two for an upload and for a delete: pending, then final', async () => {
    const uploaded = await auditCalls(certificatesUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ca: false, certificates: (await makeCertificate()).pem }),
    })
    expect(uploaded.status).toBe(200)
    expect(uploaded.calls).toEqual({ put: 2 })

    const id = await uploadedId({}, { key: KEYS.alice })
    const deleted = await auditCalls(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    expect(deleted.status).toBe(200)
    expect(deleted.calls).toEqual({ put: 2 })
  })
})
