/**
 * What a person reads when the console refuses (issue 22): plain words instead of the API's
 * ("Malformed credentials: expected Authorization: Bearer ...", "must be an RFC 3339 date-time"),
 * a next step, and the code and request id to ask for help with; the sign-in field focused, and
 * marked invalid with its message linked when the key is refused.
 */
import { describe, expect, it } from 'vitest'
import { uploadedId } from '../support/gateway'
import { ACCOUNT, KEYS } from '../support/identities'
import { Browser, csrfOf } from './support'

async function signedIn(key: string) {
  const browser = new Browser()
  expect((await browser.signIn(key)).status).toBe(303)
  return browser
}

/** The `<input>` tag of the key field. */
const keyField = (html: string) => /<input[^>]*id="key"[^>]*>/.exec(html)?.[0] ?? ''

describe('the sign-in form', () => {
  it('opens focused on its field, not marked invalid', async () => {
    const form = await new Browser().get('/console/sign-in')
    expect(keyField(form.html)).toMatch(/autofocus/)
    expect(keyField(form.html)).not.toContain('aria-invalid')
    expect(keyField(form.html)).toContain('aria-describedby="key-hint"')
  })

  it.each([
    ['not a key at all', 'That is not a gateway key.', 18002],
    [`mtlsgw_${'z'.repeat(43)}`, 'The gateway does not know this key.', 18003],
  ])('marks the field invalid on a wrong key (%s), in plain words', async (key, says, code) => {
    const browser = new Browser()
    const refused = await browser.signIn(key)
    expect(refused.status).toBe(401)
    const field = keyField(refused.html)
    expect(field).toContain('aria-invalid="true"')
    expect(field).toContain('aria-describedby="key-error key-hint"')
    expect(field).toMatch(/autofocus/)
    const message = /<div class="notice bad" role="alert" id="key-error">([^<]*)<\/div>/.exec(
      refused.html,
    )?.[1]
    expect(message).toContain(says)
    expect(message).toContain(`Code ${code}`)
    expect(refused.html).not.toContain('Authorization: Bearer mtlsgw_')
    expect(refused.html).not.toContain('Malformed credentials')
    // The form still works: a fresh token, and the right key signs in.
    expect(csrfOf(refused.html)).not.toBe('')
    expect((await browser.signIn(KEYS.alice)).status).toBe(303)
  })
})

describe('the error pages', () => {
  it('say a certificate the member may not see is not theirs to see, and lead back', async () => {
    const theirs = await uploadedId({ name: 'not-carols' }, { key: KEYS.alice })
    const page = await (
      await signedIn(KEYS.carol)
    ).get(`/console/certificates/${ACCOUNT}/${theirs}`)
    expect(page.status).toBe(404)
    expect(page.html).toContain('There is no certificate here that you may see')
    expect(page.html).toContain('<a href="/console/certificates">Back to the certificates</a>')
    expect(page.html).toContain('<a href="/console">Console home</a>')
    expect(page.html).toMatch(/give code 1472 and request [0-9a-f-]+\./)
    expect(page.html).not.toContain('not-carols')
  })

  it('explain a refusal by role without the policy’s jargon', async () => {
    const page = await (await signedIn(KEYS.alice)).get('/console/audit')
    expect(page.status).toBe(403)
    expect(page.html).toContain('Your role may not do this. If you need to, ask an admin.')
    expect(page.html).not.toContain('Denied by policy')
    // Not a link back to the page that just refused.
    expect(page.html).not.toContain('Back to the audit log')
  })

  it('name the field of an invalid address and what it takes, in words', async () => {
    const admin = await signedIn(KEYS.admin)
    const bad = await admin.get('/console/certificates/not-an-account/also-not')
    expect(bad.status).toBe(400)
    expect(bad.html).toContain('This address does not name an account')
    // (The audit page shows its form's problems inline; its export answers with the error page.)
    const dated = await admin.get('/console/audit/export?format=csv&from=yesterday')
    expect(dated.status).toBe(400)
    expect(dated.html).not.toContain('RFC 3339')
    expect(dated.html).toContain('The “from” field needs a date and time, such as')
    expect(dated.html).toContain('<a href="/console/audit">Back to the audit log</a>')
    // The audit page's own form says the same inline, with the range still shown to change.
    const inline = await admin.get('/console/audit?from=yesterday')
    expect(inline.status).toBe(400)
    expect(inline.html).not.toContain('RFC 3339')
    expect(inline.html).toContain('The “from” field needs a date and time, such as')
  })

  it('offer to sign in again when the session has ended', async () => {
    const page = await new Browser().get('/console/certificates?team=identity')
    expect(page.status).toBe(401)
    expect(page.html).toContain('Sign in to continue.')
    expect(page.html).toContain(`name="next" value="/console/certificates?team=identity"`)
  })
})
