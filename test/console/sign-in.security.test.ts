/**
 * Signing in to the console: the form is the console's own (nonce cookie + CSRF token + Origin),
 * the session cookie has the attributes that keep it to the console, and the key is used once and
 * never written anywhere a browser or the audit log could show it.
 */
import { describe, expect, it } from 'vitest'
import { hashKey } from '../../src/identity/keys'
import { newEntries } from '../support/audit'
import { KEYS } from '../support/identities'
import { Browser, csrfOf, setCookies } from './support'

describe('the sign-in form', () => {
  it('binds its CSRF token to a nonce cookie kept to the console (HttpOnly, Strict, Secure)', async () => {
    const browser = new Browser()
    const form = await browser.get('/console/sign-in')
    expect(form.status).toBe(200)
    const [nonce] = setCookies(form.response)
    expect(nonce).toMatchObject({
      name: 'mtlsgw_console_sign_in',
      attributes: { httponly: true, samesite: 'Strict', secure: true, path: '/console' },
    })
    expect(csrfOf(form.html)).not.toContain(nonce!.value)
    expect(form.html).toContain('type="password"')
    expect(form.html).toMatch(/<label for="key">/)
  })

  it('starts a session with a member key: a signed cookie, HttpOnly, SameSite=Strict, Secure, 8 h', async () => {
    const browser = new Browser()
    const signedIn = await browser.signIn(KEYS.alice, '/console/certificates')
    expect(signedIn.status).toBe(303)
    expect(signedIn.response.headers.get('location')).toBe('/console/certificates')
    const session = setCookies(signedIn.response).find((c) => c.name === 'mtlsgw_console')!
    expect(session.attributes).toMatchObject({
      httponly: true,
      samesite: 'Strict',
      secure: true,
      path: '/console',
      'max-age': String(8 * 3600),
    })
    // Neither the key nor its stored hash is in the cookie.
    expect(session.value).not.toContain(KEYS.alice)
    expect(session.value).not.toContain(await hashKey(KEYS.alice))
    expect(session.value).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
    const home = await browser.get('/console')
    expect(home.status).toBe(200)
    expect(home.html).toContain('<strong>alice</strong>')
    expect(home.html).not.toContain(KEYS.alice)
  })

  it('sends no Secure attribute over plain http (a loopback `npm start`)', async () => {
    const browser = new Browser({ url: 'http://127.0.0.1:8787' })
    const signedIn = await browser.signIn(KEYS.bob)
    expect(signedIn.status).toBe(303)
    const session = setCookies(signedIn.response).find((c) => c.name === 'mtlsgw_console')!
    expect(session.attributes.secure).toBeUndefined()
    expect(session.attributes.httponly).toBe(true)
  })

  it('answers a wrong key 401 with the form again, and records the attempt as unauthenticated', async () => {
    const browser = new Browser()
    const wrong = KEYS.alice.slice(0, -1) + (KEYS.alice.endsWith('q') ? 'r' : 'q')
    let status = 0
    const written = await newEntries(async () => {
      const answer = await browser.signIn(wrong)
      status = answer.status
      expect(answer.html).toContain('The gateway does not know this key.')
      expect(answer.html).not.toContain(wrong)
    })
    expect(status).toBe(401)
    expect(browser.jar.has('mtlsgw_console')).toBe(false)
    expect(written).toEqual([
      expect.objectContaining({
        action: 'sign_in',
        outcome: expect.objectContaining({ class: 'unauthenticated', error_codes: [18003] }),
      }),
    ])
  })

  it('records a successful sign-in with the member and how they proved it', async () => {
    const written = await newEntries(() => new Browser().signIn(KEYS.carol))
    expect(written).toEqual([
      expect.objectContaining({
        action: 'sign_in',
        member: 'carol',
        via: 'key',
        outcome: expect.objectContaining({ class: 'allowed', status: 303 }),
      }),
    ])
  })

  it.each([
    ['another Origin', { origin: 'https://evil.test' }],
    ['no Origin', { origin: null }],
    ['Sec-Fetch-Site: cross-site', { headers: { 'sec-fetch-site': 'cross-site' } }],
  ])('refuses a sign-in post with %s (403, no session)', async (_name, options) => {
    const browser = new Browser()
    const form = await browser.get('/console/sign-in')
    const answer = await browser.post(
      '/console/sign-in',
      { csrf: csrfOf(form.html), key: KEYS.admin, next: '/console' },
      options,
    )
    expect(answer.status).toBe(403)
    expect(answer.html).toContain('18011')
    expect(browser.jar.has('mtlsgw_console')).toBe(false)
  })

  it('refuses a sign-in post without the form’s nonce cookie (login CSRF from another site)', async () => {
    const attacker = new Browser()
    const form = await attacker.get('/console/sign-in')
    // The victim's browser has no nonce cookie: the attacker's token is worth nothing there.
    const victim = new Browser()
    const answer = await victim.post('/console/sign-in', {
      csrf: csrfOf(form.html),
      key: KEYS.admin,
    })
    expect(answer.status).toBe(403)
    expect(victim.jar.has('mtlsgw_console')).toBe(false)
  })

  it('never redirects anywhere but the console after sign-in', async () => {
    for (const next of ['https://evil.test/', '//evil.test/', '/\\evil.test', '/client/v4']) {
      const answer = await new Browser().signIn(KEYS.alice, next)
      expect(answer.response.headers.get('location')).toBe('/console')
    }
  })
})
