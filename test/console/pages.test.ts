/**
 * The console's pages, through the Worker with the emulator behind it: each shows what the
 * policy lets the member see (the same operations as the API), escapes what comes from a
 * certificate or an entry, and carries the strict headers. Certificates, approvals and entries
 * are made through the API first, as teams would make them.
 */
import { describe, expect, it } from 'vitest'
import { CONTENT_SECURITY_POLICY } from '../../src/console/headers'
import { makeCertificate } from '../kit/certificates'
import { auditEntries, newEntries } from '../support/audit'
import { GATEWAY, callJson, certificateUrl, uploadedId } from '../support/gateway'
import { emulator, seedUnowned } from '../support/emulator'
import type { Approval } from '../../src/approvals/store'
import { budgetInstance, parkCopies } from '../support/coordinator'
import { ACCOUNT, KEYS } from '../support/identities'
import { Browser } from './support'

const XSS = '<script>alert(1)</script>'

async function signedIn(key: string) {
  const browser = new Browser()
  expect((await browser.signIn(key)).status).toBe(303)
  return browser
}

describe('every console page', () => {
  it('carries the strict CSP, nosniff, no framing and no caching', async () => {
    const browser = await signedIn(KEYS.admin)
    for (const path of [
      '/console',
      '/console/certificates',
      '/console/audit',
      '/console/approvals',
      '/console/budgets',
      '/console/sign-in',
      '/console/reference',
      '/console/nowhere',
    ]) {
      const { response } = await browser.get(path)
      expect(response.headers.get('content-security-policy'), path).toBe(CONTENT_SECURITY_POLICY)
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(response.headers.get('x-frame-options'), path).toBe('DENY')
      // Not no-referrer: with it, Chromium posts the console's own forms with `Origin: null`.
      expect(response.headers.get('referrer-policy'), path).toBe('same-origin')
      expect(response.headers.get('cache-control'), path).toBe('no-store')
    }
    // And the sign-in form a visit without a session is answered with.
    const refused = await new Browser().get('/console/audit')
    expect(refused.status).toBe(401)
    expect(refused.response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'none'")
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline')
  })

  it('serves its stylesheet and icon without recording them (they carry no identity)', async () => {
    const written = await newEntries(async () => {
      const css = await new Browser().get('/console/assets/console-v3.css')
      expect(css.status).toBe(200)
      expect(css.response.headers.get('content-type')).toContain('text/css')
      expect((await new Browser().get('/console/assets/icon-v3.svg')).status).toBe(200)
    })
    expect(written).toEqual([])
  })
})

describe('the certificates page', () => {
  it('shows a certificate named like a script as text, in the list and in the audit log', async () => {
    const id = await uploadedId({ name: XSS }, { key: KEYS.alice })
    const page = await (await signedIn(KEYS.alice)).get('/console/certificates')
    expect(page.status).toBe(200)
    expect(page.html).toContain(id)
    expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(page.html).not.toContain(XSS)
    const audit = await (await signedIn(KEYS.auditor)).get(`/console/audit?certificate=${id}&from=`)
    expect(audit.status).toBe(200)
    expect(audit.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(audit.html).not.toContain(XSS)
  })

  it('marks a certificate expiring within 30 days, with its days left', async () => {
    const made = await makeCertificate({ notAfter: new Date(Date.now() + 10.5 * 86_400_000) })
    const id = await uploadedId({ certificates: made.pem, name: 'soon' }, { key: KEYS.bob })
    const page = await (await signedIn(KEYS.bob)).get('/console/certificates')
    const row = new RegExp(`<tr class="expiring" data-certificate-id="${id}">[\\s\\S]*?</tr>`).exec(
      page.html,
    )
    expect(row?.[0]).toContain('expires in 10 days')
  })

  it('shows one team only what it owns; admins see unowned ones and assign them', async () => {
    const payments = await uploadedId({ name: 'payments-one' }, { key: KEYS.alice })
    const unowned = await seedUnowned()
    const carol = await (await signedIn(KEYS.carol)).get('/console/certificates')
    expect(carol.html).not.toContain(payments)
    expect(carol.html).not.toContain(unowned)

    const admin = await signedIn(KEYS.admin)
    const page = await admin.get('/console/certificates')
    expect(page.html).toContain(payments)
    expect(page.html).toContain(`action="/console/certificates/${ACCOUNT}/${unowned}/owner"`)
    const written = await newEntries(async () => {
      const assigned = await admin.post(`/console/certificates/${ACCOUNT}/${unowned}/owner`, {
        csrf: await admin.csrf('/console/certificates'),
        team: 'identity',
      })
      expect(assigned.status).toBe(303)
      expect(assigned.response.headers.get('location')).toContain(`assigned=${unowned}`)
    })
    expect(written.find((e) => e.action === 'assign')).toMatchObject({
      member: 'admin',
      via: 'session',
      certificate_id: unowned,
      outcome: { class: 'allowed', status: 303 },
    })
    const after = await (await signedIn(KEYS.carol)).get('/console/certificates')
    expect(after.html).toContain(unowned)
  })

  it('shows a certificate’s associations on its own page', async () => {
    const id = await uploadedId({ name: 'used' }, { key: KEYS.alice })
    const { emulator } = await import('../support/emulator')
    await emulator.setAssociations(id, [{ service: 'gateway', status: 'active' }])
    const page = await (await signedIn(KEYS.alice)).get(`/console/certificates/${ACCOUNT}/${id}`)
    expect(page.status).toBe(200)
    expect(page.html).toMatch(/<td>gateway<\/td><td>active<\/td>/)
    const carol = await (await signedIn(KEYS.carol)).get(`/console/certificates/${ACCOUNT}/${id}`)
    expect(carol.status).toBe(404)
  })
})

describe('the approvals page', () => {
  it('lists a parked delete for the requester and the approver, and approves it', async () => {
    const id = await uploadedId({ ca: true, name: 'ca-to-go' }, { key: KEYS.bob })
    const parked = await callJson<null>(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
      headers: { prefer: 'respond-async' },
    })
    expect(parked.status).toBe(202)
    const approvalId = (parked.body as unknown as { approval: { id: string } }).approval.id

    const bob = await (await signedIn(KEYS.bob)).get('/console/approvals')
    expect(bob.html).toContain(approvalId)
    expect(bob.html).not.toContain(`/console/approvals/${approvalId}/approve`)
    expect((await (await signedIn(KEYS.carol)).get('/console/approvals')).html).not.toContain(
      approvalId,
    )

    const admin = await signedIn(KEYS.admin)
    const page = await admin.get('/console/approvals')
    expect(page.html).toContain('ca-to-go')
    // Issue 22: the list leads to the review page; the delete is confirmed there, a second step.
    expect(page.html).not.toContain(`action="/console/approvals/${approvalId}/approve"`)
    expect(page.html).toContain(`href="/console/approvals/${approvalId}"`)
    const review = await admin.get(`/console/approvals/${approvalId}`)
    expect(review.status).toBe(200)
    expect(review.html).toContain('No Cloudflare service uses it now')
    expect(review.html).toContain(`action="/console/approvals/${approvalId}/approve"`)
    expect(review.html).toContain(`action="/console/approvals/${approvalId}/reject"`)
    const approved = await admin.post(`/console/approvals/${approvalId}/approve`, {
      csrf: await admin.csrf(`/console/approvals/${approvalId}`),
    })
    expect(approved.status).toBe(303)
    const gone = await callJson(certificateUrl(id), { key: KEYS.admin })
    expect(gone.status).toBe(404)
    const again = await admin.post(`/console/approvals/${approvalId}/approve`, {
      csrf: await admin.csrf('/console/approvals'),
    })
    expect(again.status).toBe(409)
    expect(again.html).toContain('18308')
  })
})

describe('the approvals page, with one lead parking 200 deletes', () => {
  const parkDelete = async (id: string) => {
    const parked = await callJson<null>(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
      headers: { prefer: 'respond-async' },
    })
    expect(parked.status).toBe(202)
    return (parked.body as unknown as { approval: { id: string } }).approval.id
  }
  /** Every page from the first, following its "next" link; the approval ids, in page order. */
  const everyPage = async (browser: Browser) => {
    const ids: string[] = []
    let path: string | undefined = '/console/approvals'
    let pages = 0
    while (path !== undefined) {
      const page = await browser.get(path)
      expect(page.status, path).toBe(200)
      pages++
      ids.push(
        ...[...page.html.matchAll(/<div class="hint"><code>([0-9a-f-]{36})<\/code>/g)].map(
          (m) => m[1]!,
        ),
      )
      const next = /<a href="([^"]+)" rel="next">/.exec(page.html)?.[1]
      path = next?.replaceAll('&amp;', '&')
    }
    return { ids, pages }
  }

  it('costs no upstream call and shows every pending approval, the older ones included', async () => {
    const older = await uploadedId({ ca: true, name: 'older-root' }, { key: KEYS.bob })
    const olderApproval = await parkDelete(older)
    const flooded = await uploadedId({ ca: true, name: 'flooded-root' }, { key: KEYS.bob })
    // Issue 22: a certificate has one open approval, so asking again gives the same one; the
    // flood is 200 certificates' deletes, parked straight into the coordinator after the first.
    const firstParked = await parkDelete(flooded)
    expect(await parkDelete(flooded)).toBe(firstParked)
    const record = (
      await callJson<Approval>(`${GATEWAY}/approvals/${firstParked}`, { key: KEYS.bob })
    ).body.result
    const parked = [firstParked, ...(await parkCopies(record, 199))]
    expect(new Set(parked).size).toBe(200)

    const admin = await signedIn(KEYS.admin)
    const before = (await emulator.requests()).length
    const { ids, pages } = await everyPage(admin)
    const first = await admin.get('/console/approvals')
    expect((await emulator.requests()).length - before).toBe(0)

    expect(pages).toBeGreaterThanOrEqual(5) // 201 at 50 a page
    expect(new Set(ids).size).toBe(ids.length)
    expect(new Set(ids)).toEqual(new Set([olderApproval, ...parked]))
    // Oldest first: the approval parked before the flood leads the first page, with its name and
    // the facts kept on its record.
    expect(ids[0]).toBe(olderApproval)
    expect(first.html).toContain('older-root')
    expect(first.html).toContain(`href="/console/approvals/${olderApproval}"`)

    // The API lists the same approvals with the same operation, a page at a time.
    const listed: string[] = []
    let cursor: string | null = null
    do {
      const query: string =
        cursor === null ? '?limit=200' : `?limit=200&cursor=${encodeURIComponent(cursor)}`
      const page = await callJson<{ id: string; certificate: { name?: string } }[]>(
        `${GATEWAY}/approvals${query}`,
        { key: KEYS.admin },
      )
      expect(page.status).toBe(200)
      listed.push(...page.body.result.map((a) => a.id))
      cursor = (page.body as unknown as { result_info: { cursor: string | null } }).result_info
        .cursor
    } while (cursor !== null)
    expect(listed).toEqual(ids)
    expect((await emulator.requests()).length - before).toBe(0)

    // Another team's developer is concerned by none of them; the requester sees his own.
    const carol = await callJson<unknown[]>(`${GATEWAY}/approvals`, {
      key: KEYS.carol,
    })
    expect(carol.body.result).toEqual([])
    const bob = await (await signedIn(KEYS.bob)).get('/console/approvals')
    expect(bob.html).toContain(olderApproval)
  }, 120_000)

  it('refuses a cursor it did not give (400, pointing at the cursor)', async () => {
    const admin = await signedIn(KEYS.admin)
    const page = await admin.get('/console/approvals?cursor=nonsense')
    expect(page.status).toBe(400)
    expect(page.html).toContain('18103')
    const foreign = await callJson(`${GATEWAY}/approvals?cursor=${'ab'.repeat(16)}`, {
      key: KEYS.carol,
    })
    expect(foreign.status).toBe(400)
    expect(foreign.body.errors[0]).toMatchObject({ code: 18103, source: { pointer: '/cursor' } })
  })
})

describe('the audit pages', () => {
  it('refuse a member the policy does not let read the log (403, with the reason)', async () => {
    const page = await (await signedIn(KEYS.alice)).get('/console/audit')
    expect(page.status).toBe(403)
    expect(page.html).toContain('18301')
  })

  it('filter as the review API does, mark denied entries, and draw the chart', async () => {
    const id = await uploadedId({ name: 'to-deny' }, { key: KEYS.alice })
    await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.alice }) // alice may not delete: 403
    const auditor = await signedIn(KEYS.auditor)
    const page = await auditor.get(`/console/audit?member=alice&outcome=denied&from=`)
    expect(page.status).toBe(200)
    expect(page.html).toContain('<tr class="denied">')
    expect(page.html).not.toContain('>allowed</span>')
    expect(page.html).toMatch(/<svg viewBox="0 0 720 220" role="img"/)
    expect(page.html).toContain('class="o-denied"')

    const invalid = await auditor.get('/console/audit?request_id=nope')
    expect(invalid.status).toBe(400)
    expect(invalid.html).toContain('request_id')
  })

  it('page newest first: the next page continues where the first stopped', async () => {
    await uploadedId({ name: 'page-one' }, { key: KEYS.alice })
    await uploadedId({ name: 'page-two' }, { key: KEYS.alice })
    const auditor = await signedIn(KEYS.auditor)
    const first = await auditor.get('/console/audit?action=upload&limit=25&from=')
    const names = (html: string) =>
      [...html.matchAll(/<td><div>(page-one|page-two)<\/div>/g)].map((m) => m[1])
    expect(names(first.html)).toEqual(['page-two', 'page-one'])
    const one = await auditor.get('/console/audit?action=upload&limit=1&from=')
    expect(names(one.html)).toEqual(['page-two'])
    const next = /<a href="([^"]+)" rel="next">/.exec(one.html)![1]!.replaceAll('&amp;', '&')
    expect(next).toContain('cursor=')
    expect(next).toContain('limit=1')
    const second = await auditor.get(next)
    expect(names(second.html)).toEqual(['page-one'])
    expect(second.html).toContain('Newest entries')
  })

  it('open an entry with its decision, outcome and signature check', async () => {
    await uploadedId({ name: 'detail' }, { key: KEYS.alice })
    const [entry] = (await auditEntries()).filter(
      (e) => e.action === 'upload' && e.certificate_name === 'detail',
    )
    const page = await (
      await signedIn(KEYS.auditor)
    ).get(`/console/audit/entries/${entry!.request_id}`)
    expect(page.status).toBe(200)
    expect(page.html).toContain('Signature valid')
    expect(page.html).toContain('teams-upload')
    expect(page.html).toContain(entry!.fingerprint_sha256!)
  })

  it('export NDJSON and CSV of the same query', async () => {
    await uploadedId({ name: 'exported' }, { key: KEYS.alice })
    const auditor = await signedIn(KEYS.auditor)
    const ndjson = await auditor.get('/console/audit/export?format=ndjson&action=upload&from=')
    expect(ndjson.response.headers.get('content-type')).toContain('application/x-ndjson')
    expect(ndjson.response.headers.get('content-disposition')).toBe(
      'attachment; filename="audit.ndjson"',
    )
    const lines = ndjson.html
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.at(-1)).toMatchObject({ complete: true })
    expect(lines.some((l) => l.certificate_name === 'exported')).toBe(true)
    const csv = await auditor.get('/console/audit/export?format=csv&action=upload&from=')
    expect(csv.response.headers.get('content-type')).toContain('text/csv')
    expect(csv.html.split('\r\n')[0]).toMatch(/^time,id,kind,/)
    expect(csv.html).toContain('exported')
  })
})

describe('the API reference', () => {
  it('is rendered from /openapi.json, with no script and nothing from elsewhere', async () => {
    const page = await new Browser().get('/console/reference')
    expect(page.status).toBe(200)
    expect(page.html).toContain('/gateway/v1/audit')
    expect(page.html).toContain('gatewayKey')
    expect(page.html).not.toMatch(/<script|https?:\/\/(?!gateway\.test)[a-z]/i)
  })
})

describe('the budgets page', () => {
  it("shows a member its own team's use, and an auditor every team's", async () => {
    // Two upstream calls by payments: its use shows.
    await callJson(certificateUrl(crypto.randomUUID()), { key: KEYS.admin })
    await uploadedId({}, { key: KEYS.alice })
    const alice = await (await signedIn(KEYS.alice)).get('/console/budgets')
    expect(alice.status).toBe(200)
    expect(alice.html).toContain('Calls to Cloudflare are flowing')
    expect(alice.html).toMatch(/<th scope="row">payments<\/th>/)
    expect(alice.html).not.toMatch(/<th scope="row">identity<\/th>/)
    expect(alice.html).toContain('<meter')

    const auditor = await (await signedIn(KEYS.auditor)).get('/console/budgets')
    for (const team of ['payments', 'identity', 'platform']) {
      expect(auditor.html).toMatch(new RegExp(`<th scope="row">${team}</th>`))
    }
  })

  it('shows the breaker open after the upstream rate-limited the token', async () => {
    await (await budgetInstance()).tripBreaker(Date.now() + 90_000, Date.now())
    const page = await (await signedIn(KEYS.carol)).get('/console/budgets')
    expect(page.html).toContain('Calls to Cloudflare are paused for every team')
  })
})

// Issue 22: the review page shows the facts of now; reject and withdraw from the console.
describe('an approval reviewed in the console', () => {
  const park = async (name: string, reason?: string) => {
    const id = await uploadedId({ ca: true, name }, { key: KEYS.bob })
    const parked = await callJson<null>(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
      headers: {
        prefer: 'respond-async',
        ...(reason !== undefined ? { 'x-approval-reason': reason } : {}),
      },
    })
    return { id, approvalId: (parked.body as unknown as { approval: { id: string } }).approval.id }
  }

  it('shows the reason and the associations of now, and rejects with a reason', async () => {
    const { id, approvalId } = await park('edge-ca', 'moved to edge-ca-2027')
    await emulator.setAssociations(id, [{ service: 'hyperdrive', status: 'active' }])
    const admin = await signedIn(KEYS.admin)
    const review = await admin.get(`/console/approvals/${approvalId}`)
    expect(review.html).toContain('moved to edge-ca-2027')
    expect(review.html).toContain('hyperdrive (active)')
    const rejected = await admin.post(`/console/approvals/${approvalId}/reject`, {
      csrf: await admin.csrf(`/console/approvals/${approvalId}`),
      reason: 'still used by hyperdrive',
    })
    expect(rejected.status).toBe(303)
    const bob = await signedIn(KEYS.bob)
    const mine = await bob.get(`/console/approvals/${approvalId}`)
    expect(mine.html).toContain('Rejected; nothing was deleted.')
    expect(mine.html).toContain('still used by hyperdrive')
    expect(mine.html).not.toContain('/withdraw"')
  })

  it('lets the requester withdraw, and offers the approver nothing to approve', async () => {
    const { approvalId } = await park('old-ca')
    const bob = await signedIn(KEYS.bob)
    const page = await bob.get(`/console/approvals/${approvalId}`)
    expect(page.html).toContain(`action="/console/approvals/${approvalId}/withdraw"`)
    expect(page.html).not.toContain('/approve"')
    const withdrawn = await bob.post(`/console/approvals/${approvalId}/withdraw`, {
      csrf: await bob.csrf(`/console/approvals/${approvalId}`),
      reason: '',
    })
    expect(withdrawn.status).toBe(303)
    const admin = await signedIn(KEYS.admin)
    const after = await admin.get(`/console/approvals/${approvalId}`)
    expect(after.html).toContain('Withdrawn by the member who asked')
    expect(after.html).not.toContain('/approve"')
  })
})

// Issue 22: a console that knows who is looking.
describe('the console for each role', () => {
  const navOf = (html: string) =>
    [...(/<nav class="main"[\s\S]*?<\/nav>/.exec(html)?.[0] ?? '').matchAll(/>([^<>]+)<\/a>/g)].map(
      (m) => m[1],
    )

  it('shows in the navigation only the pages the role may use', async () => {
    const auditor = await (await signedIn(KEYS.auditor)).get('/console')
    // control-console (issue 20): Members for everyone, Policy for whoever may change it.
    expect(navOf(auditor.html)).toEqual([
      'Certificates',
      'Approvals',
      'Audit',
      'Budgets',
      'API reference',
      'Members',
      'Expiring', // lifecycle/expiring (issue 23): whoever may list
    ])
    const bob = await (await signedIn(KEYS.bob)).get('/console')
    expect(navOf(bob.html)).toEqual([
      'Certificates',
      'Approvals',
      'Budgets',
      'API reference',
      'Members',
      'Expiring', // lifecycle/expiring (issue 23): whoever may list
    ])
    expect(bob.html).not.toContain('href="/console/audit"')
    const admin = await (await signedIn(KEYS.admin)).get('/console')
    expect(navOf(admin.html)).toEqual([
      'Certificates',
      'Approvals',
      'Audit',
      'Budgets',
      'API reference',
      'Policy', // control-console (issue 20)
      'Members',
      'Expiring', // lifecycle/expiring (issue 23): whoever may list
    ])
  })

  it('shows an auditor every pending approval, read-only, and each member what waits for them', async () => {
    const id = await uploadedId({ ca: true, name: 'waiting-ca' }, { key: KEYS.bob })
    const parked = await callJson<null>(certificateUrl(id), {
      method: 'DELETE',
      key: KEYS.bob,
      headers: { prefer: 'respond-async' },
    })
    const approvalId = (parked.body as unknown as { approval: { id: string } }).approval.id

    const auditor = await signedIn(KEYS.auditor)
    // (Other tests of this file leave approvals behind: the list may hold others first.)
    const list = await auditor.get('/console/approvals')
    expect(list.html).toContain('<caption>')
    expect(list.html).not.toContain('Nothing is waiting')
    const review = await auditor.get(`/console/approvals/${approvalId}`)
    expect(review.status).toBe(200)
    expect(review.html).toContain('waiting-ca')
    expect(review.html).not.toContain('/approve"')
    expect((await auditor.get('/console')).html).toMatch(
      /\d+( or more)? deletes? waiting for approval \(read-only\)/,
    )
    // The API agrees: the auditor lists it, and cannot approve it.
    const api = await callJson<{ id: string }[]>(`${GATEWAY}/approvals`, { key: KEYS.auditor })
    expect(api.status).toBe(200)
    const one = await callJson<{ id: string }>(`${GATEWAY}/approvals/${approvalId}`, {
      key: KEYS.auditor,
    })
    expect(one.body.result.id).toBe(approvalId)
    const approve = await callJson(`${GATEWAY}/approvals/${approvalId}/approve`, {
      method: 'POST',
      key: KEYS.auditor,
    })
    expect(approve.status).toBe(403)

    expect((await (await signedIn(KEYS.admin)).get('/console')).html).toMatch(
      /\d+( or more)? deletes? waiting for your decision/,
    )
    expect((await (await signedIn(KEYS.bob)).get('/console')).html).toMatch(
      /\d+( or more)? of your delete requests still waiting/,
    )
    expect((await (await signedIn(KEYS.carol)).get('/console')).html).toContain(
      'Nothing is waiting for you.',
    )
  })
})

// Issue 22: review that starts from the question.
describe('the audit page from the question', () => {
  it('shows its range, offers presets, gives codes their meaning and finds by name', async () => {
    // (A leaf: this file's earlier tests use up the emulator's CA allocation.)
    const id = await uploadedId({ name: 'question-leaf' }, { key: KEYS.alice })
    await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.alice })
    const auditor = await signedIn(KEYS.auditor)
    const first = await auditor.get('/console/audit')
    // The default range is said in words, and the presets are links, never a silent default.
    expect(first.html).toMatch(/Showing changes only, from <time[^>]*>[^<]+<\/time> to now/)
    for (const preset of ['Last 24 hours', 'Last 7 days', 'Last 30 days', 'Everything kept']) {
      expect(first.html).toContain(preset)
    }
    expect(first.html).toContain(
      'href="/console/audit?changes_only=true&amp;page_views=hide&amp;from="',
    )
    // By the certificate's name, from the form: the denied delete, its code with its meaning.
    const byName = await auditor.get('/console/audit?certificate_name=question-leaf&from=')
    expect(byName.html).toContain('18301: Denied by policy')
    expect(byName.html).toContain('value="question-leaf"')
    expect(byName.html).toMatch(/2 entries/)
  })
})
