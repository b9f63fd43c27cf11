/**
 * The console's members page (issue 20, item 7), through the Worker in managed mode: a lead sees
 * their team's keys and adds a member, whose key is shown once (never again, never in an audit
 * entry) and works at once; the list shows its age, last use and expiry; a lead cannot grant a role
 * that may delete, nor manage another team; a developer is offered nothing and refused when posting;
 * a lead revokes a key of their team; an admin sees any team; every form needs its CSRF token.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { hashKey } from '../../src/identity/keys'
import { newEntries } from '../support/audit'
import { coordinatorCounting, emptyPolicyStore } from '../support/coordinator'
import { GATEWAY, callJson } from '../support/gateway'
import { KEYS } from '../support/identities'
import { Browser } from './support'

const managed = { POLICY_MODE: 'managed' } as Partial<Env>

beforeEach(async () => {
  await emptyPolicyStore()
})

async function signedIn(key: string, options: { env?: Partial<Env> } = { env: managed }) {
  const browser = new Browser(options)
  expect((await browser.signIn(key)).status).toBe(303)
  return browser
}

const textOf = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')
const MINTED = /value="(mtlsgw_[A-Za-z0-9_-]+)"/

const whoami = (key: string) =>
  callJson<{ member: string }>(`${GATEWAY}/whoami`, { key, env: managed })

async function mint(browser: Browser, fields: Record<string, string | string[]>) {
  const csrf = await browser.csrf('/console/members')
  const body = new URLSearchParams({ csrf })
  for (const [name, value] of Object.entries(fields)) {
    for (const v of [value].flat()) body.append(name, v)
  }
  return browser.get('/console/members/mint', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'https://gateway.test',
    },
    body: body.toString(),
  })
}

/** A developer of payments, minted by `lead` on the page: the key shown once, and its id. */
async function mintDeveloper(lead: Browser, member: string) {
  const { html } = await mint(lead, {
    member,
    team: 'payments',
    roles: 'developer',
    expires_in_days: '30',
  })
  return { key: MINTED.exec(html)![1]!, keyId: /<code>([0-9a-f-]{36})<\/code>/.exec(html)![1]! }
}

describe('the members page', () => {
  it('lets a lead add a member: the key is shown once, works at once, and is on no record', async () => {
    const bob = await signedIn(KEYS.bob)
    const page = await bob.get('/console/members')
    expect(page.status).toBe(200)
    expect(page.html).toContain('action="/console/members/mint"')
    // Only grantable roles are offered: developer, not lead (nor admin, which may delete).
    expect(page.html).toContain('name="roles" value="developer"')
    expect(page.html).not.toContain('name="roles" value="lead"')
    expect(page.html).not.toContain('name="roles" value="admin"')

    let answer: Awaited<ReturnType<typeof mint>> | undefined
    const entries = await newEntries(async () => {
      answer = await mint(bob, {
        member: 'erin',
        team: 'payments',
        roles: 'developer',
        expires_in_days: '30',
      })
    })
    expect(answer!.status).toBe(200)
    const key = MINTED.exec(answer!.html)?.[1]
    expect(key).toBeDefined()
    expect(textOf(answer!.html)).toContain('shown this once and never again')
    expect(answer!.response.headers.get('cache-control')).toContain('no-store')
    // Never in an audit entry, neither the key nor its hash.
    const recorded = JSON.stringify(entries)
    expect(recorded).toContain('"verb":"mint"')
    expect(recorded).not.toContain(key!)
    expect(recorded).not.toContain(await hashKey(key!))

    const who = await whoami(key!)
    expect([who.status, who.body.result?.member]).toEqual([200, 'erin'])

    const list = await bob.get('/console/members')
    expect(list.html).not.toContain(key!)
    expect(list.html).not.toContain(await hashKey(key!))
    const row = textOf(/<tbody>[\s\S]*?<\/tbody>/.exec(list.html)![0])
    expect(row).toMatch(/erin .* developer active 0 days by bob/)
    expect(row).toContain('UTC') // last use (the whoami) and expiry, as times
  })

  it("refuses a role a lead may not grant, another team's page, and a post without its token", async () => {
    const bob = await signedIn(KEYS.bob)
    const lead = await mint(bob, {
      member: 'frank',
      team: 'payments',
      roles: 'lead',
      expires_in_days: '30',
    })
    expect([lead.status, lead.html.includes('18361')]).toEqual([403, true])
    const other = await mint(bob, {
      member: 'frank',
      team: 'identity',
      roles: 'developer',
      expires_in_days: '30',
    })
    expect([other.status, other.html.includes('18131')]).toEqual([403, true])
    expect((await bob.get('/console/members?team=identity')).status).toBe(403)
    const forged = await bob.post('/console/members/mint', {
      csrf: 'forged',
      member: 'frank',
      team: 'payments',
      roles: 'developer',
      expires_in_days: '30',
    })
    expect([forged.status, forged.html.includes('18011')]).toEqual([403, true])
  })

  it('offers a developer nothing to change, and refuses their post', async () => {
    const alice = await signedIn(KEYS.alice)
    const page = await alice.get('/console/members')
    expect(page.status).toBe(200)
    expect(page.html).not.toContain('action="/console/members/mint"')
    const refused = await mint(alice, {
      member: 'gina',
      team: 'payments',
      roles: 'developer',
      expires_in_days: '30',
    })
    expect([refused.status, refused.html.includes('18131')]).toEqual([403, true])
  })

  it('lets a lead revoke a key of their team: refused at once; an admin sees any team', async () => {
    const bob = await signedIn(KEYS.bob)
    const { key, keyId } = await mintDeveloper(bob, 'hank')
    expect((await whoami(key)).status).toBe(200)

    // Another lead (of identity) cannot revoke it: it is answered as missing.
    const dave = await signedIn(KEYS.dave)
    const notTheirs = await dave.post(`/console/members/keys/${keyId}/revoke`, {
      csrf: await dave.csrf('/console/members'),
    })
    expect([notTheirs.status, notTheirs.html.includes('18360')]).toEqual([404, true])
    // Rotating is for the key's own member only.
    const rotate = await bob.post(`/console/members/keys/${keyId}/rotate`, {
      csrf: await bob.csrf('/console/members'),
      grace_seconds: '0',
    })
    expect([rotate.status, rotate.html.includes('18360')]).toEqual([404, true])

    const list = await bob.get('/console/members')
    expect(list.html).toContain(`action="/console/members/keys/${keyId}/revoke"`)
    const revoked = await bob.post(`/console/members/keys/${keyId}/revoke`, {
      csrf: await bob.csrf('/console/members'),
    })
    expect(revoked.status).toBe(303)
    expect((await whoami(key)).status).toBe(401)
    const after = await bob.get(
      revoked.response.headers.get('location')!.replace(/^https?:\/\/[^/]+/, ''),
    )
    expect(textOf(after.html)).toContain(`Key ${keyId} is revoked`)
    expect(after.html).toMatch(/badge bad">revoked</)
    expect(after.html).not.toContain(`action="/console/members/keys/${keyId}/revoke"`)

    const admin = await signedIn(KEYS.admin)
    const payments = await admin.get('/console/members?team=payments')
    expect(payments.status).toBe(200)
    expect(payments.html).toContain('hank')
    expect(payments.html).toContain('<select id="members-team"')
  })

  it('signs in a member minted without a deploy; their rotation or a revocation ends that session', async () => {
    const bob = await signedIn(KEYS.bob)
    const { key, keyId } = await mintDeveloper(bob, 'ivy')

    // Ivy signs in with the minted key and rotates it herself, at once.
    const ivy = await signedIn(key)
    const page = await ivy.get('/console/members')
    expect(page.status).toBe(200)
    expect(page.html).toContain('Signed in as <strong>ivy</strong>')
    expect(page.html).toContain(`action="/console/members/keys/${keyId}/rotate"`)
    const rotated = await ivy.post(`/console/members/keys/${keyId}/rotate`, {
      csrf: await ivy.csrf('/console/members'),
      grace_seconds: '0',
    })
    expect(rotated.status).toBe(200)
    const next = MINTED.exec(rotated.html)![1]!
    expect(next).not.toBe(key)
    // The session stood on the old key: it ends with it; the new key signs in.
    const ended = await ivy.get('/console/members')
    expect(ended.status).toBe(401)
    expect(textOf(ended.html)).toContain('Your membership or key has changed since you signed in')
    expect((await new Browser({ env: managed }).signIn(key)).status).toBe(401)
    const again = await signedIn(next)
    expect((await again.get('/console/members')).status).toBe(200)

    // A lead's revocation ends it at the next page.
    const list = await bob.get('/console/members')
    const newId = new RegExp(`keys/([0-9a-f-]{36})/revoke"`).exec(
      list.html.slice(list.html.indexOf('ivy')),
    )![1]!
    const revoked = await bob.post(`/console/members/keys/${newId}/revoke`, {
      csrf: await bob.csrf('/console/members'),
    })
    expect(revoked.status).toBe(303)
    expect((await again.get('/console/members')).status).toBe(401)
  })

  it("asks the coordinator once for a table member's sign-in, and for a page only after a change", async () => {
    const bob = await signedIn(KEYS.bob)
    const { key, keyId } = await mintDeveloper(bob, 'jill')
    const calls: string[] = []
    // How the table is asked about one key (the members page also lists the team's keys).
    const keyCalls = () => calls.filter((m) => m === 'memberKeyUse' || m === 'memberKeyRead')
    const jill = new Browser({ env: { ...managed, COORDINATOR: coordinatorCounting(calls) } })

    // Sign-in: the key is looked up once, and its id comes with the caller (no second ask).
    expect((await jill.signIn(key)).status).toBe(303)
    expect(keyCalls()).toEqual(['memberKeyUse'])
    // Pages: the key's record is this isolate's, while the keys' version holds.
    calls.length = 0
    expect((await jill.get('/console/members')).status).toBe(200)
    expect((await jill.get('/console')).status).toBe(200)
    expect(keyCalls()).toEqual([])

    // A revocation bumps the version: the next page asks, and the session ends.
    const revoked = await bob.post(`/console/members/keys/${keyId}/revoke`, {
      csrf: await bob.csrf('/console/members'),
    })
    expect(revoked.status).toBe(303)
    const ended = await jill.get('/console/members')
    expect(ended.status).toBe(401)
    expect(keyCalls()).toEqual(['memberKeyRead'])
  })

  it('is read-only in the pinned mode', async () => {
    const bob = await signedIn(KEYS.bob, {})
    const page = await bob.get('/console/members')
    expect(page.status).toBe(200)
    expect(textOf(page.html)).toContain('The policy is pinned')
    expect(page.html).not.toContain('action="/console/members/mint"')
  })
})
