/**
 * The console's Expiring page (issue 23, item 2): through the Worker, with a certificate 10 days
 * from expiry and the notice the expiry watch sent for it. A payments member sees it with its
 * horizon, notice state and an Acknowledge button; an identity member does not see it; an admin
 * sees every team's; the window presets filter it. Acknowledging through the page runs the API's
 * operation: an `acknowledgement` entry on the chain, the button gone, the same state the API
 * answers; a post without the page's token or from another origin is refused and stores nothing.
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { expiryWatchDeps } from '../../src/lifecycle/expiry-cron'
import { watchExpiry } from '../../src/lifecycle/watch'
import { makeCertificate } from '../kit/certificates'
import { newEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { GATEWAY, callJson, uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'
import type { SuccessorCheck } from '../../src/coordinator/notices'
import { Browser } from './support'

const DAY = 86_400_000
const CHANNELS = JSON.stringify({
  'payments-hook': {
    kind: 'webhook',
    url: 'https://hooks.test/__receiver/payments',
    secret: `whsec_${btoa('expiring-page-test-webhook-secret')}`,
  },
})

/** One run of the expiry watch, as the cron runs it, with a payments channel (drift off). */
async function watch(nowMs = Date.now()) {
  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  policy.snapshot = { max_age_seconds: 0 }
  policy.lifecycle = { teams: { payments: { channels: ['payments-hook'] } } }
  const watchEnv = { ...env, POLICY: JSON.stringify(policy), LIFECYCLE_CHANNELS: CHANNELS }
  const { auditLog: _drift, ...deps } = expiryWatchDeps(watchEnv, () => nowMs)
  return watchExpiry(deps, nowMs)
}

async function uploadedExpiring(days: number, key: string): Promise<string> {
  const made = await makeCertificate({ ca: false, notAfter: new Date(Date.now() + days * DAY) })
  return uploadedId({ certificates: made.pem }, { key })
}

async function signedIn(key: string) {
  const browser = new Browser()
  expect((await browser.signIn(key)).status).toBe(303)
  return browser
}

const rowOf = (html: string, id: string) =>
  new RegExp(`<tr[^>]*data-certificate-id="${id}">[\\s\\S]*?</tr>`).exec(html)?.[0]
const textOf = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')

beforeEach(() => emulator.reset())

describe('the expiring page', () => {
  it("shows a team its own expiring certificates with notice state, every team's to an admin", async () => {
    const payments = await uploadedExpiring(10, KEYS.alice)
    const identity = await uploadedExpiring(45, KEYS.carol)
    await watch()

    const alice = await signedIn(KEYS.alice)
    // Listed on the home page, as the nav lists it, for whoever may list certificates.
    expect(textOf((await alice.get('/console')).html)).toContain('Expiring : what expires soon')
    const page = await alice.get('/console/expiring')
    expect(page.status).toBe(200)
    expect(page.html).toContain('href="/console/expiring" aria-current="page"')
    const row = rowOf(page.html, payments)
    expect(row).toBeDefined()
    const text = textOf(row!)
    expect(text).toContain('payments')
    expect(text).toContain('9 days')
    expect(text).toContain('14d notice to payments-hook delivered')
    expect(text).toContain('none named')
    expect(row).toContain('name="horizon" value="14d"')
    // 45 days out: not within the default 30, and another team's anyway.
    expect(rowOf(page.html, identity)).toBeUndefined()

    const carol = await signedIn(KEYS.carol)
    expect(rowOf((await carol.get('/console/expiring')).html, payments)).toBeUndefined()
    expect(rowOf((await carol.get('/console/expiring?within=60')).html, identity)).toBeDefined()

    const admin = await signedIn(KEYS.admin)
    const all = (await admin.get('/console/expiring?within=60')).html
    expect(rowOf(all, payments)).toBeDefined()
    expect(rowOf(all, identity)).toBeDefined()
    expect(all.indexOf(payments)).toBeLessThan(all.indexOf(identity))
    expect(rowOf((await admin.get('/console/expiring?within=30')).html, identity)).toBeUndefined()
    expect((await admin.get('/console/expiring?within=7')).status).toBe(400)
  })

  it('acknowledges through the API operation: on the chain, the button gone, the API agrees', async () => {
    const id = await uploadedExpiring(10, KEYS.alice)
    await watch()
    const alice = await signedIn(KEYS.alice)
    const page = await alice.get('/console/expiring')
    const fields = { account_id: ACCOUNT, certificate_id: id, horizon: '14d' }
    const csrf = /name="csrf" value="([^"]+)"/.exec(rowOf(page.html, id)!)![1]!

    let answer: Awaited<ReturnType<Browser['post']>> | undefined
    const entries = await newEntries(async () => {
      answer = await alice.post('/console/expiring/acknowledge', { csrf, ...fields })
    })
    expect(answer!.status).toBe(303)
    expect(answer!.response.headers.get('location')).toContain('/console/expiring?acknowledged=')
    const acks = entries.filter((e) => e.kind === 'acknowledgement')
    expect(acks.map((e) => [e.member, e.lifecycle?.certificate_id, e.lifecycle?.horizon])).toEqual([
      ['alice', id, '14d'],
    ])
    expect(acks[0]!.chain).toBeDefined()

    const redirected = await alice.get(answer!.response.headers.get('location')!)
    expect(textOf(redirected.html)).toContain(`Acknowledged 14d of ${id}`)
    const spoofed = await alice.get('/console/expiring?acknowledged=call%20555-0100')
    expect(spoofed.html).not.toContain('555-0100')
    const after = rowOf(redirected.html, id)!
    expect(textOf(after)).toContain('acknowledged: 14d')
    expect(after).not.toContain('name="horizon"')
    const api = await callJson<{ id: string; acknowledged: string[] }[]>(`${GATEWAY}/expiring`, {
      key: KEYS.alice,
    })
    expect(api.body.result!.find((c) => c.id === id)?.acknowledged).toEqual(['14d'])
  })

  it("refuses a post without the page's token, from another origin, or for another team", async () => {
    const id = await uploadedExpiring(10, KEYS.alice)
    await watch()
    const alice = await signedIn(KEYS.alice)
    const csrf = await alice.csrf('/console/expiring')
    const fields = { account_id: ACCOUNT, certificate_id: id, horizon: '14d' }

    const refused = await newEntries(async () => {
      const noToken = await alice.post('/console/expiring/acknowledge', fields)
      expect([noToken.status, noToken.html.includes('18011')]).toEqual([403, true])
      const forged = await alice.post(
        '/console/expiring/acknowledge',
        { csrf, ...fields },
        { origin: 'https://evil.test' },
      )
      expect([forged.status, forged.html.includes('18011')]).toEqual([403, true])
      // Carol may not see a payments certificate: as the API, not found, and nothing stored.
      const carol = await signedIn(KEYS.carol)
      const other = await carol.post('/console/expiring/acknowledge', {
        csrf: await carol.csrf('/console/expiring'),
        ...fields,
      })
      expect(other.status).toBe(404)
    })
    expect(refused.filter((e) => e.kind === 'acknowledgement')).toEqual([])
    const row = rowOf((await alice.get('/console/expiring')).html, id)!
    expect(row).toContain('name="horizon" value="14d"')
    expect(textOf(row)).not.toContain('acknowledged: 14d')
  })
})

/** A pairing as the coordinator keeps it, with `check` as the last check found (or none). */
async function paired(old: string, successor: string, check?: SuccessorCheck) {
  const coordinator = env.COORDINATOR.get(env.COORDINATOR.idFromName(ACCOUNT))
  await coordinator.pairSuccessor({
    certificate_id: old,
    successor_id: successor,
    services: ['gateway', 'api'],
    named_by: 'alice',
    named_at: Date.now() - 3_600_000,
    ...(check ? { check } : {}),
  })
}

describe("the successor's readiness on the page", () => {
  it('shows the last check (ready, or why not) and its age; "not checked yet" before any', async () => {
    const ready = await uploadedExpiring(10, KEYS.alice)
    const waiting = await uploadedExpiring(11, KEYS.alice)
    const unchecked = await uploadedExpiring(12, KEYS.alice)
    const next = await uploadedId({ name: 'edge-next' }, { key: KEYS.alice })
    const at = Date.now() - 12 * 60_000
    await paired(ready, next, {
      at,
      by: 'watch',
      ready: true,
      reason: null,
      missing_services: [],
    })
    await paired(waiting, next, {
      at: Date.now() - 3 * 86_400_000,
      by: 'delete',
      ready: false,
      reason: 'not_in_use',
      missing_services: ['api'],
    })
    await paired(unchecked, next)

    const page = (await (await signedIn(KEYS.alice)).get('/console/expiring')).html
    const readyRow = textOf(rowOf(page, ready)!)
    expect(readyRow).toContain(next)
    expect(readyRow).toContain('edge-next') // its name, as the list shows it to alice
    expect(readyRow).toContain('named by alice')
    expect(readyRow).toMatch(/ ready checked 1[23] min ago by the expiry watch /)
    const waitingRow = textOf(rowOf(page, waiting)!)
    expect(waitingRow).toContain('not ready not yet in use by 1 of 2 services: api')
    expect(waitingRow).toContain('checked 3 days ago by a delete')
    const uncheckedRow = textOf(rowOf(page, unchecked)!)
    expect(uncheckedRow).toContain('not checked yet')
    expect(uncheckedRow).not.toMatch(/ ready|not ready/)
  })
})
