/**
 * A console session authenticates the console's own pages and nothing else, and only while it is
 * the one the gateway issued, unexpired, not signed out, for a member still active with the key
 * that started it. Each refusal is the sign-in form (401) and deletes the cookie.
 */
import { describe, expect, it } from 'vitest'
import { sealSession, sessionKey, newSession } from '../../src/console/session'
import { hashKey } from '../../src/identity/keys'
import { call, certificatesUrl, GATEWAY } from '../support/gateway'
import { newEntries } from '../support/audit'
import { AUDIT_SIGNING_KEY, KEYS } from '../support/identities'
import { policyWith } from '../support/policies'
import { Browser, csrfOf, setCookies } from './support'

/** The suite's policy with one member changed. */
async function policyChanging(id: string, change: Record<string, unknown>) {
  const policy = JSON.parse(await policyWith()) as { members: { id: string }[] }
  policy.members = policy.members.map((m) => (m.id === id ? { ...m, ...change } : m))
  return JSON.stringify(policy)
}

async function signedIn(key: string = KEYS.alice) {
  const browser = new Browser()
  expect((await browser.signIn(key)).status).toBe(303)
  return browser
}

function withCookie(value: string) {
  const browser = new Browser()
  browser.jar.set('mtlsgw_console', value)
  return browser
}

async function expectRefused(browser: Browser) {
  const page = await browser.get('/console/certificates')
  expect(page.status).toBe(401)
  expect(page.html).toContain('action="/console/sign-in"')
  // The refused cookie is deleted, and the form will bring the reader back here.
  expect(
    setCookies(page.response).find((c) => c.name === 'mtlsgw_console')?.attributes['max-age'],
  ).toBe('0')
  expect(page.html).toContain('value="/console/certificates"')
  return page
}

describe('what a session cookie opens', () => {
  it('gets 401 on /client/v4 and /gateway/v1 when it is the only credential', async () => {
    const browser = await signedIn(KEYS.admin)
    const cookie = `mtlsgw_console=${browser.jar.get('mtlsgw_console')}`
    expect((await browser.get('/console')).status).toBe(200)
    for (const url of [certificatesUrl(), `${GATEWAY}/whoami`, `${GATEWAY}/audit`]) {
      const answer = await call(url, { key: null, headers: { cookie } })
      expect(answer.status, url).toBe(401)
      const body = (await answer.json()) as { errors: { code: number }[] }
      expect(body.errors[0]!.code).toBe(18001)
    }
  })

  it('is refused without a cookie: the sign-in form, 401, recorded as unauthenticated', async () => {
    let status = 0
    const written = await newEntries(async () => {
      status = (await new Browser().get('/console/audit')).status
    })
    expect(status).toBe(401)
    expect(written).toEqual([
      expect.objectContaining({
        outcome: expect.objectContaining({ class: 'unauthenticated', error_codes: [18010] }),
      }),
    ])
  })
})

describe('a session cookie is refused when it is', () => {
  it('forged: the payload changed (another member), the MAC kept', async () => {
    const browser = await signedIn(KEYS.alice)
    const [v, payload, mac] = browser.jar.get('mtlsgw_console')!.split('.')
    const fields = JSON.parse(atob(payload!.replaceAll('-', '+').replaceAll('_', '/')))
    const forged = btoa(JSON.stringify({ ...fields, m: 'admin' }))
      .replaceAll('+', '-')
      .replaceAll('/', '_')
      .replace(/=+$/, '')
    await expectRefused(withCookie([v, forged, mac].join('.')))
  })

  it('sealed with a key that is not the gateway’s', async () => {
    const key = await sessionKey('some-other-secret-that-is-long-enough-0000')
    const session = await newSession(
      key,
      { id: 'admin', keySha256: await hashKey(KEYS.admin) },
      Date.now(),
    )
    await expectRefused(withCookie(await sealSession(key, session)))
  })

  it('expired, even with a valid MAC', async () => {
    const key = await sessionKey(AUDIT_SIGNING_KEY)
    const session = await newSession(
      key,
      { id: 'alice', keySha256: await hashKey(KEYS.alice) },
      Date.now(),
    )
    const expired = {
      ...session,
      issuedAt: Date.now() - 9 * 3_600_000,
      expiresAt: Date.now() - 1000,
    }
    const refused = await expectRefused(withCookie(await sealSession(key, expired)))
    expect(refused.html).toContain('expired')
    // The same session, unexpired, is taken: the refusal above was for the expiry alone.
    expect((await withCookie(await sealSession(key, session)).get('/console')).status).toBe(200)
  })

  it('signed out: sign-out revokes it, and a copy of the cookie no longer opens anything', async () => {
    const browser = await signedIn(KEYS.bob)
    const copy = browser.jar.get('mtlsgw_console')!
    const out = await browser.post('/console/sign-out', { csrf: await browser.csrf() })
    expect(out.status).toBe(303)
    expect(out.response.headers.get('location')).toBe('/console/sign-in?notice=signed_out')
    expect(browser.jar.has('mtlsgw_console')).toBe(false)
    const refused = await expectRefused(withCookie(copy))
    expect(refused.html).toContain('signed out')
  })

  it('for a member revoked since, or whose key was replaced since', async () => {
    const cookie = (await signedIn(KEYS.alice)).jar.get('mtlsgw_console')!
    const under = (policy: string) => {
      const browser = withCookie(cookie)
      Object.assign(browser.options, { env: { POLICY: policy } })
      return browser
    }
    await expectRefused(under(await policyChanging('alice', { revoked: true })))
    const replaced = await hashKey(KEYS.alice.replace('alice', 'alicf'))
    await expectRefused(under(await policyChanging('alice', { key_sha256: replaced })))
    // Under the policy as it was, the same cookie is taken: the refusals were for those changes.
    expect((await under(await policyWith()).get('/console')).status).toBe(200)
  })
})

describe('without the CONSOLE_SESSIONS namespace', () => {
  it('refuses every session (503, fail closed), and the API serves on', async () => {
    const cookie = (await signedIn(KEYS.alice)).jar.get('mtlsgw_console')!
    const browser = withCookie(cookie)
    browser.options = { env: { CONSOLE_SESSIONS: undefined as unknown as KVNamespace } }
    const page = await browser.get('/console')
    expect(page.status).toBe(503)
    expect(page.html).toContain('18012')
    const api = await call(`${GATEWAY}/whoami`, {
      key: KEYS.alice,
      env: { CONSOLE_SESSIONS: undefined as unknown as KVNamespace },
    })
    expect(api.status).toBe(200)
  })
})

describe('signed-in forms', () => {
  it('refuse sign-out without the CSRF token, and the session stays', async () => {
    const browser = await signedIn(KEYS.alice)
    const refused = await browser.post('/console/sign-out', {})
    expect(refused.status).toBe(403)
    expect(refused.html).toContain('18011')
    expect((await browser.get('/console')).status).toBe(200)
  })

  it.each([
    ['from another Origin', { origin: 'https://evil.test' }],
    ['without an Origin', { origin: null }],
  ])('refuse a post %s even with the right token', async (_name, options) => {
    const browser = await signedIn(KEYS.admin)
    const csrf = await browser.csrf()
    const written = await newEntries(async () => {
      const answer = await browser.post('/console/sign-out', { csrf }, options)
      expect(answer.status).toBe(403)
    })
    expect(written).toEqual([
      expect.objectContaining({
        member: 'admin',
        via: 'session',
        outcome: expect.objectContaining({ class: 'denied', error_codes: [18011] }),
      }),
    ])
    expect((await browser.get('/console')).status).toBe(200)
  })

  it('refuse the CSRF token of another session', async () => {
    const mine = await signedIn(KEYS.admin)
    const theirs = await signedIn(KEYS.admin)
    const answer = await mine.post('/console/sign-out', { csrf: await theirs.csrf() })
    expect(answer.status).toBe(403)
    expect(csrfOf((await mine.get('/console')).html)).not.toBe(await theirs.csrf())
  })
})
