/**
 * Issue 23: the emulator's clock and the account audit log (Audit Logs v2), with changes made
 * through the API (the emulator's own token) and from outside (another token, the dashboard).
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'

import { exampleCa as pem } from '../../test/kit/fixtures'
import { ACCOUNT, call, emulator, resetEmulator, upload, type Certificate } from './helpers'

beforeEach(() => resetEmulator())

const AUDIT = `https://api.cloudflare.com/client/v4/accounts/${ACCOUNT}/logs/audit`

type LogEntry = {
  action: { type: string; time: string; result: string }
  actor: { context: string; token_id?: string; token_name?: string; email?: string }
  resource: { id: string }
}
type LogPage = {
  success: boolean
  result: LogEntry[]
  result_info: { count: number; cursor?: string }
}

async function auditLog(query: string): Promise<{ status: number; body: LogPage }> {
  const res = await call(`${AUDIT}?${query}`)
  return { status: res.status, body: (await res.json()) as LogPage }
}

const wide = 'since=2000-01-01&before=2200-01-01'

describe('clock', () => {
  it('moves what the emulator stamps, and reset puts it back', async () => {
    const { now } = await emulator().setClock({ now: '2030-05-01T10:00:00Z' })
    expect(Date.parse(now)).toBeGreaterThanOrEqual(Date.parse('2030-05-01T10:00:00Z'))
    const created = (await upload({ ca: true, certificates: pem })).body.result
    expect(created.uploaded_on).toMatch(/^2030-05-01T10:00:0\d\.\d{6}Z$/)
    const moved = await emulator().setClock({ advance_ms: 86_400_000 })
    expect(moved.now.slice(0, 10)).toBe('2030-05-02')
    await resetEmulator()
    const again = (await upload({ ca: true, certificates: pem })).body.result
    expect(Date.parse(String(again.uploaded_on))).toBeLessThan(Date.parse('2030-01-01'))
  })

  it('refuses a clock change with neither now nor advance_ms', async () => {
    expect((await emulator().send('PUT', '/clock', {})).status).toBe(400)
  })
})

describe('audit log', () => {
  it('records API changes as the emulator token and outside changes with their actor', async () => {
    const mine = (await upload({ ca: true, certificates: pem })).body.result
    const theirs = await emulator().outsideUpload(
      ACCOUNT,
      { context: 'api_token', token_id: 'tf-token', token_name: 'terraform' },
      { ca: false, expires_on: '2031-01-01T00:00:00Z' },
    )
    await emulator().outsideDelete(ACCOUNT, { context: 'dash', email: 'ann@example.com' }, mine.id)
    const { status, body } = await auditLog(wide)
    expect(status).toBe(200)
    expect(body.result.map((e) => [e.action.type, e.resource.id, e.actor.context])).toEqual([
      ['delete', mine.id, 'dash'],
      ['create', theirs.certificate.id, 'api_token'],
      ['create', mine.id, 'api_token'],
    ])
    expect(body.result[0]!.actor.email).toBe('ann@example.com')
    expect(body.result[1]!.actor.token_name).toBe('terraform')
    expect(body.result[2]!.actor.token_name).toBe('mtls-gateway')
    // The certificate is really gone, and the store's list shows the outside upload.
    const list = (await (await call('')).json()) as { result: Certificate[] }
    expect(list.result.map((c) => c.id)).toEqual([theirs.certificate.id])
  })

  it('pages with a cursor, in either direction, within [since, before)', async () => {
    await emulator().setClock({ now: '2030-01-01T00:00:00Z' })
    for (const n of [1, 2, 3]) {
      await emulator().outsideUpload(ACCOUNT, { context: 'dash' }, { id: `c${n}`, ca: false })
      await emulator().setClock({ advance_ms: 60_000 })
    }
    const first = await auditLog(`${wide}&direction=asc&limit=2`)
    expect(first.body.result.map((e) => e.resource.id)).toEqual(['c1', 'c2'])
    const cursor = first.body.result_info.cursor!
    const second = await auditLog(`${wide}&direction=asc&limit=2&cursor=${cursor}`)
    expect(second.body.result.map((e) => e.resource.id)).toEqual(['c3'])
    expect(second.body.result_info.cursor).toBeUndefined()
    const window = await auditLog('since=2030-01-01T00:01:00Z&before=2030-01-01T00:02:00Z')
    expect(window.body.result.map((e) => e.resource.id)).toEqual(['c2'])
  })

  it('requires since and before, and the token', async () => {
    expect((await auditLog('since=2030-01-01')).status).toBe(400)
    const res = await call(`${AUDIT}?${wide}`, { headers: { authorization: 'Bearer wrong' } })
    expect(res.status).toBe(403)
  })

  it('refuses an outside delete of a certificate in use, as the dashboard does', async () => {
    const mine = (await upload({ ca: true, certificates: pem })).body.result
    await emulator().setAssociations(mine.id, [{ service: 'gateway', status: 'active' }])
    const res = await emulator().send('DELETE', `/outside/${mine.id}`, {
      account_id: ACCOUNT,
      actor: { context: 'dash' },
    })
    expect(res.status).toBe(409)
    expect((await auditLog(wide)).body.result).toHaveLength(1)
  })
})

describe('webhook receiver', () => {
  // Plain fetch() reaches the bundled copy (outboundService), so its controls are used.
  const bundled = emulator({ fetch: (url, init) => env.BUNDLED.fetch(url, init) })

  it('keeps each POST and answers the queued failures first', async () => {
    await bundled.reset()
    await bundled.failDeliveries(500, 1)
    const send = () =>
      fetch('https://hooks.example/__receiver/payments', {
        method: 'POST',
        headers: { 'webhook-id': 'msg_1' },
        body: '{"a":1}',
      })
    expect((await send()).status).toBe(500)
    expect((await send()).status).toBe(200)
    const got = await bundled.deliveries()
    expect(got.map((d) => [d.name, d.status, d.body, d.headers['webhook-id']])).toEqual([
      ['payments', 500, '{"a":1}', 'msg_1'],
      ['payments', 200, '{"a":1}', 'msg_1'],
    ])
  })
})
