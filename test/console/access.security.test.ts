/**
 * Behind Cloudflare Access the console takes the Access identity as it is, on every request (no
 * sign-in, no session cookie), and its forms still need the CSRF token, bound to that member and
 * the Access session (the token's iat and exp): a token of an earlier or expired session is refused.
 */
import { env } from 'cloudflare:test'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey as JoseKey } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { fakeClock, type FakeClock } from '../kit/clock'
import { newEntries, registerSecret } from '../support/audit'
import { emulator } from '../support/emulator'
import { csrfToken, sessionKey } from '../../src/console/session'
import { AUDIT_SIGNING_KEY } from '../support/identities'
import { Browser } from './support'

const TEAM_DOMAIN = 'http://127.0.0.1:8788'
const AUD = 'c0nso1e0aud0000000000000000000000000000000000000000000000000000'
const basePolicy = JSON.parse(env.POLICY) as { members: Record<string, unknown>[] }
const POLICY = JSON.stringify({
  ...basePolicy,
  members: [
    ...basePolicy.members,
    { id: 'dana', team: 'payments', roles: ['developer'], access_email: 'dana@example.com' },
  ],
})
const ACCESS_ENV = { ACCESS_TEAM_DOMAIN: TEAM_DOMAIN, ACCESS_AUD: AUD, POLICY }

let key: { privateKey: JoseKey; jwk: JsonWebKey }
let clock: FakeClock

async function token(email = 'dana@example.com') {
  const now = Math.floor(Date.now() / 1000)
  const jwt = await new SignJWT({
    iss: TEAM_DOMAIN,
    aud: [AUD],
    email,
    iat: now,
    nbf: now,
    exp: now + 600,
  })
    .setProtectedHeader({ alg: 'RS256', kid: 'console-key' })
    .sign(key.privateKey)
  return registerSecret(jwt)
}

/** The `iat` and `exp` a token carries (the test signed it). */
function claimsOf(jwt: string): { iat: number; exp: number } {
  const payload = jwt.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/')
  return JSON.parse(atob(payload)) as { iat: number; exp: number }
}

/** The CSRF token the console binds to the Access session `jwt` belongs to (console/identity.ts). */
async function csrfOfSession(jwt: string, member = 'dana') {
  const { iat, exp } = claimsOf(jwt)
  return csrfToken(await sessionKey(AUDIT_SIGNING_KEY), `access:${member}:${iat}:${exp}`)
}

/** A browser behind Access: Access adds the assertion to every request it lets through. */
function behindAccess(assertion: string) {
  const browser = new Browser({ env: ACCESS_ENV })
  const get = browser.get.bind(browser)
  browser.get = (path, init = {}) =>
    get(path, {
      ...init,
      headers: {
        ...Object.fromEntries(new Headers(init.headers)),
        'cf-access-jwt-assertion': assertion,
      },
    })
  return browser
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true })
  key = {
    privateKey: pair.privateKey,
    jwk: {
      ...(await exportJWK(pair.publicKey)),
      kid: 'console-key',
      alg: 'RS256',
      use: 'sig',
    } as JsonWebKey,
  }
  clock = fakeClock(Date.now() + 2 * 86_400_000)
})

afterAll(() => clock.restore())

beforeEach(async () => {
  // Past the gateway's key cache, so that this file's key set is fetched.
  clock.advance(11 * 60_000)
  await emulator.reset()
  await emulator.setAccessKeys([key.jwk])
})

describe('the console behind Cloudflare Access', () => {
  it('opens its pages for the Access identity, without sign-in or cookie', async () => {
    const browser = behindAccess(await token())
    const home = await browser.get('/console')
    expect(home.status).toBe(200)
    expect(home.html).toContain('<strong>dana</strong>')
    expect(home.html).toContain('through Cloudflare Access')
    expect(home.html).not.toContain('action="/console/sign-out"')
    expect(home.html).toContain('href="/cdn-cgi/access/logout"')
    expect(browser.jar.has('mtlsgw_console')).toBe(false)
    // The sign-in form sends an Access visitor on to the console.
    const form = await browser.get('/console/sign-in')
    expect(form.status).toBe(303)
  })

  it('still needs the CSRF token, bound to the member and the Access session, on its forms', async () => {
    const assertion = await token()
    const browser = behindAccess(assertion)
    const key = await sessionKey(AUDIT_SIGNING_KEY)
    const approve = `/console/approvals/${crypto.randomUUID()}/approve`
    const { iat, exp } = claimsOf(assertion)
    // No token, another member's token, another Origin: refused before anything is looked up.
    expect((await browser.post(approve, {})).status).toBe(403)
    const carols = await csrfToken(key, `access:carol:${iat}:${exp}`)
    expect((await browser.post(approve, { csrf: carols })).status).toBe(403)
    const danas = await csrfToken(key, `access:dana:${iat}:${exp}`)
    expect(
      (await browser.post(approve, { csrf: danas }, { origin: 'https://evil.test' })).status,
    ).toBe(403)
    // The token of the member alone (what the console used to issue) is not this session's.
    expect(
      (await browser.post(approve, { csrf: await csrfToken(key, 'access:dana') })).status,
    ).toBe(403)
    // Dana's own token gets the form through: the approval is then looked up (and unknown).
    const taken = await browser.post(approve, { csrf: danas })
    expect(taken.status).toBe(404)
    expect(taken.html).toContain('18304')
  })

  it('refuses a CSRF token of an earlier Access session after a new sign-in', async () => {
    const approve = `/console/approvals/${crypto.randomUUID()}/approve`
    const first = await token()
    const earlier = await csrfOfSession(first)
    expect((await behindAccess(first).post(approve, { csrf: earlier })).status).toBe(404)
    clock.advance(60_000)
    const second = await token()
    const now = behindAccess(second)
    const refused = await now.post(approve, { csrf: earlier })
    expect(refused.status).toBe(403)
    expect(refused.html).toContain('18011')
    expect((await now.post(approve, { csrf: await csrfOfSession(second) })).status).toBe(404)
  })

  it('refuses a CSRF token once its Access session has expired, whatever token comes next', async () => {
    const approve = `/console/approvals/${crypto.randomUUID()}/approve`
    const first = await token()
    const expiring = behindAccess(first)
    const earlier = await csrfOfSession(first)
    // Past the token's exp (600 s) and the 30 s tolerance: the old session is over...
    clock.advance(700_000)
    expect((await expiring.post(approve, { csrf: earlier })).status).toBe(401)
    // ...and its CSRF token is not the new one's, after Access signs dana in again.
    const renewed = behindAccess(await token())
    expect((await renewed.post(approve, { csrf: earlier })).status).toBe(403)
  })

  it('answers an Access token that does not verify with 401, recorded with its code', async () => {
    const forged = (await token()).replace(/\.[^.]+$/, '.AAAA')
    let status = 0
    const written = await newEntries(async () => {
      status = (await behindAccess(forged).get('/console/certificates')).status
    })
    expect(status).toBe(401)
    expect(written[0]?.outcome).toMatchObject({ class: 'unauthenticated', error_codes: [18006] })
  })
})
