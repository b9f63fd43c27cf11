/**
 * The certificates page as each role uses it (issue 22): the auditor's read-only inventory, and
 * the list sorted by expiry first (or by name or team), filtered by team, searched by name,
 * exported as CSV with the same filters, and counted per team. Through the Worker, with the
 * emulator behind it; certificates are uploaded through the API as teams would.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { makeCertificate } from '../kit/certificates'
import { callJson, certificateUrl, certificatesUrl, uploadedId } from '../support/gateway'
import { emulator, seedUnowned } from '../support/emulator'
import { ACCOUNT, KEYS } from '../support/identities'
import { Browser } from './support'

const DAY = 86_400_000

async function signedIn(key: string) {
  const browser = new Browser()
  expect((await browser.signIn(key)).status).toBe(303)
  return browser
}

/** The certificate ids of the page's list, in the order shown. */
const listed = (html: string) =>
  [...html.matchAll(/<tr(?: class="[a-z]+")? data-certificate-id="([^"]+)"/g)].map((m) => m[1])

async function uploadExpiring(name: string, days: number, key: string) {
  const made = await makeCertificate({ notAfter: new Date(Date.now() + (days + 0.5) * DAY) })
  return uploadedId({ certificates: made.pem, name }, { key })
}

beforeEach(async () => {
  await emulator.reset()
})

describe('the certificates page for an auditor', () => {
  it('shows every team’s certificates and the unowned, read-only, and the API agrees', async () => {
    const payments = await uploadedId({ name: 'inv-payments' }, { key: KEYS.alice })
    const identity = await uploadedId({ name: 'inv-identity' }, { key: KEYS.carol })
    const unowned = await seedUnowned()

    const auditor = await signedIn(KEYS.auditor)
    const page = await auditor.get('/console/certificates')
    expect(page.status).toBe(200)
    expect(new Set(listed(page.html))).toEqual(new Set([payments, identity, unowned]))
    expect(page.html).toContain('Read-only: your role sees them and changes none.')
    // Names, owners, expiry; no assign form, no delete.
    expect(page.html).toContain('inv-identity')
    expect(page.html).toMatch(/<td>identity<\/td>/)
    expect(page.html).not.toContain('/owner"')
    expect(page.html).not.toContain('name="team" required')
    // The navigation offers the page.
    expect(page.html).toContain('href="/console/certificates" aria-current="page"')

    // Its own page: the facts, and plainly no associations (the role does not read them).
    const detail = await auditor.get(`/console/certificates/${ACCOUNT}/${identity}`)
    expect(detail.status).toBe(200)
    expect(detail.html).toContain('Your role does not see which services use a certificate.')
    expect(detail.html).not.toContain('role="alert"')

    // What the page shows, the API shows; what it does not offer, the API refuses.
    const api = await callJson<{ id: string }[]>(certificatesUrl(), { key: KEYS.auditor })
    expect(api.status).toBe(200)
    expect(new Set(api.body.result.map((c) => c.id))).toEqual(
      new Set([payments, identity, unowned]),
    )
    const deleted = await callJson(certificateUrl(payments), {
      method: 'DELETE',
      key: KEYS.auditor,
    })
    expect(deleted.status).toBe(403)
    const assigned = await auditor.post(`/console/certificates/${ACCOUNT}/${unowned}/owner`, {
      csrf: await auditor.csrf('/console'),
      team: 'identity',
    })
    expect(assigned.status).toBe(403)
  })
})

describe('the certificate list', () => {
  it('is sorted by expiry first, and by name or team on request', async () => {
    const late = await uploadExpiring('b-late', 300, KEYS.bob)
    const soon = await uploadExpiring('a-soon', 10, KEYS.bob)
    const mid = await uploadExpiring('c-mid', 20, KEYS.dave)
    const admin = await signedIn(KEYS.admin)

    const byExpiry = await admin.get('/console/certificates')
    expect(listed(byExpiry.html)).toEqual([soon, mid, late])
    expect(byExpiry.html).toMatch(/<th scope="col" aria-sort="ascending">Expires/)
    expect(listed((await admin.get('/console/certificates?sort=name')).html)).toEqual([
      soon,
      late,
      mid,
    ])
    // identity before payments; within a team, soonest first.
    expect(listed((await admin.get('/console/certificates?sort=team')).html)).toEqual([
      mid,
      soon,
      late,
    ])
    // A sort it does not know is the default, not an error.
    expect(listed((await admin.get('/console/certificates?sort=%3Cx%3E')).html)).toEqual([
      soon,
      mid,
      late,
    ])
  })

  it('filters by team and searches by name, and the headings keep the filters', async () => {
    const a = await uploadedId({ name: 'edge-payments' }, { key: KEYS.bob })
    const b = await uploadedId({ name: 'EDGE-identity' }, { key: KEYS.dave })
    const c = await uploadedId({ name: 'core-identity' }, { key: KEYS.dave })
    const unowned = await seedUnowned()
    const admin = await signedIn(KEYS.admin)

    expect(listed((await admin.get('/console/certificates?team=identity')).html).sort()).toEqual(
      [b, c].sort(),
    )
    expect(listed((await admin.get('/console/certificates?q=edge')).html).sort()).toEqual(
      [a, b].sort(),
    )
    const both = await admin.get('/console/certificates?team=identity&q=edge')
    expect(listed(both.html)).toEqual([b])
    expect(both.html).toContain('1 of 4 match.')
    // Sorting from a heading keeps the filters; the CSV link carries them too.
    expect(both.html).toContain(
      'href="/console/certificates?team=identity&amp;q=edge&amp;sort=name"',
    )
    expect(both.html).toContain('href="/console/certificates.csv?team=identity&amp;q=edge"')
    expect(listed((await admin.get('/console/certificates?team=_unowned')).html)).toEqual([unowned])
    const none = await admin.get('/console/certificates?q=nothing-like-it')
    expect(none.status).toBe(200)
    expect(listed(none.html)).toEqual([])
    expect(none.html).toContain('No certificate matches.')
    // A member still sees only their own team, whatever the filter asks for.
    const carol = await signedIn(KEYS.carol)
    expect(listed((await carol.get('/console/certificates?team=payments')).html)).toEqual([])
  })

  it('counts per team what expires within 30 days and what has expired', async () => {
    await uploadExpiring('p-soon', 5, KEYS.bob)
    await uploadExpiring('p-later', 200, KEYS.bob)
    await uploadExpiring('i-soon', 29, KEYS.dave)
    await seedUnowned()
    const page = await (await signedIn(KEYS.admin)).get('/console/certificates')
    const row = (team: string) =>
      new RegExp(`<tr data-team="${team}">([\\s\\S]*?)</tr>`)
        .exec(page.html)?.[1]
        ?.replace(/<[^>]+>/g, ' ')
        .trim()
        .split(/\s+/)
    expect(row('identity')).toEqual(['identity', '1', '1', '0'])
    expect(row('payments')).toEqual(['payments', '2', '1', '0'])
    expect(row('_unowned')).toEqual(['Unowned', '1', '0', '0'])
    expect(page.html).toContain('2 expiring within 30 days')
  })

  it('exports the filtered list as CSV, a formula-like name made inert', async () => {
    const formula = await uploadedId({ name: '=HYPERLINK("http://x","y")' }, { key: KEYS.bob })
    const plain = await uploadedId({ name: 'plain, with a comma' }, { key: KEYS.bob })
    await uploadedId({ name: 'elsewhere' }, { key: KEYS.dave })
    const admin = await signedIn(KEYS.admin)
    const csv = await admin.get('/console/certificates.csv?team=payments&sort=name')
    expect(csv.status).toBe(200)
    expect(csv.response.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(csv.response.headers.get('content-disposition')).toContain('certificates.csv')
    const lines = csv.html.split('\r\n')
    expect(lines[0]).toBe('name,id,account_id,team,kind,issuer,expires_on,days_left,expiry')
    expect(lines).toHaveLength(4) // header, two rows, and the empty string after the last CRLF
    const ids = lines.slice(1, 3).map((line) => /,([0-9a-f-]{36}),/.exec(line)?.[1])
    expect(new Set(ids)).toEqual(new Set([formula, plain]))
    const formulaLine = lines.find((line) => line.includes(formula))!
    expect(formulaLine.startsWith(`"'=HYPERLINK(""http://x"",""y"")"`)).toBe(true)
    expect(lines.find((line) => line.includes(plain))).toMatch(/^"plain, with a comma",/)
    expect(csv.html).not.toContain('elsewhere')
    // The export is the list's: a member exports only what they see.
    const carol = await (await signedIn(KEYS.carol)).get('/console/certificates.csv')
    const rows = carol.html.split('\r\n').filter(Boolean).slice(1)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatch(/^elsewhere,.*,identity,/)
  })
})
