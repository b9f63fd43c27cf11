/**
 * Issue 22 (review-audit): the log read from the question. Reads are marked apart from changes,
 * the console's own page views are marked and hidden unless asked for (the API and the console's
 * form share the filter), the console shows changes only by default with reads one choice away,
 * its range is said and never carried silently into a new search, presets keep the other filters,
 * and an entry's way back keeps the list's filters and page.
 */
import { describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { auditEntries, exportText, newEntries } from '../support/audit'
import {
  GATEWAY,
  call,
  callJson,
  certificateUrl,
  certificatesUrl,
  uploadedId,
} from '../support/gateway'
import { KEYS } from '../support/identities'
import { Browser } from './support'

async function signedIn(key: string) {
  const browser = new Browser()
  expect((await browser.signIn(key)).status).toBe(303)
  return browser
}

const query = async (search: string) => {
  const { status, body } = await callJson<AuditEntry[]>(`${GATEWAY}/audit?${search}`, {
    key: KEYS.auditor,
  })
  expect(status).toBe(200)
  return body.result
}

const unescape = (href: string) => href.replaceAll('&amp;', '&')

describe('reads, changes and page views on the record', () => {
  it('marks a GET read-only, a console page a page view, and a change neither', async () => {
    const change = await newEntries(() =>
      uploadedId({ name: 'marked-change' }, { key: KEYS.alice }),
    )
    expect(change.every((e) => e.read_only === undefined && e.page_view === undefined)).toBe(true)
    const read = await newEntries(() => callJson(certificatesUrl(), { key: KEYS.alice }))
    expect(read.map((e) => [e.action, e.read_only, e.page_view])).toEqual([
      ['list', true, undefined],
    ])
    const auditor = await signedIn(KEYS.auditor)
    const viewed = await newEntries(() => auditor.get('/console/budgets'))
    expect(viewed.map((e) => [e.member, e.read_only, e.page_view])).toEqual([
      ['auditor', true, true],
    ])
  })

  it('the API hides page views unless asked, and leaves reads out on changes_only', async () => {
    await uploadedId({ name: 'api-change' }, { key: KEYS.alice })
    await callJson(certificatesUrl(), { key: KEYS.alice })
    const auditor = await signedIn(KEYS.auditor)
    await auditor.get('/console/budgets')
    const views = (entries: AuditEntry[]) => entries.filter((e) => e.page_view === true)

    const byDefault = await query('limit=1000')
    expect(views(byDefault)).toEqual([])
    expect(byDefault.some((e) => e.action === 'list' && e.member === 'alice')).toBe(true)

    const changes = await query('changes_only=true&limit=1000')
    expect(changes.some((e) => e.certificate_name === 'api-change')).toBe(true)
    expect(changes.filter((e) => e.read_only === true || e.action === 'list')).toEqual([])

    const only = await query('page_views=only&limit=1000')
    expect(only.length).toBeGreaterThan(0)
    expect(only.every((e) => e.page_view === true && e.read_only === true)).toBe(true)
    expect(only.some((e) => e.action === 'whoami' && e.member === 'auditor')).toBe(true)

    const included = await query('page_views=include&limit=1000')
    expect(views(included).length).toBe(only.length)

    // A request id names one entry: a page view is found by it without asking for page views.
    const named = await query(`request_id=${only[0]!.request_id}`)
    expect(named.map((e) => e.request_id)).toEqual([only[0]!.request_id])

    const invalid = await callJson(`${GATEWAY}/audit?page_views=some`, { key: KEYS.auditor })
    expect(invalid.status).toBe(400)
    expect(invalid.text).toContain('/page_views')
  })

  it('an export keeps page views unless asked, so an unfiltered export stays whole', async () => {
    const auditor = await signedIn(KEYS.auditor)
    await auditor.get('/console/budgets')
    const exported = async (search: string) => {
      const response = await call(`${GATEWAY}/audit/export?${search}`, { key: KEYS.auditor })
      expect(response.status).toBe(200)
      const lines = (await exportText(response)).split('\n').filter((l) => l !== '')
      const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
      return { entries: parsed.slice(0, -1), marker: parsed.at(-1)! }
    }
    const whole = await exported('')
    expect(whole.marker).toHaveProperty('filters', {})
    expect(whole.entries.some((e) => e.page_view === true)).toBe(true)

    const hidden = await exported('page_views=hide&changes_only=true')
    expect(hidden.entries.some((e) => e.page_view === true || e.read_only === true)).toBe(false)
    expect(hidden.marker).toHaveProperty('filters', { page_views: 'hide', changes_only: 'true' })
  })
})

describe('the console’s audit page, from the question', () => {
  it('shows changes only by default, with reads and page views one choice away', async () => {
    await uploadedId({ name: 'console-change' }, { key: KEYS.alice })
    await callJson(certificatesUrl(), { key: KEYS.alice })
    const auditor = await signedIn(KEYS.auditor)
    const page = await auditor.get('/console/audit')
    expect(page.status).toBe(200)
    expect(page.html).toContain('Showing changes only, from ')
    expect(page.html).toContain('(the last 24 hours: the default view).')
    expect(page.html).toContain('<option value="true" selected="">Changes only</option>')
    expect(page.html).toContain('<option value="hide" selected="">Hidden</option>')
    expect(page.html).toContain('console-change')
    // Neither alice's list nor the auditor's own page views are among the changes.
    expect(page.html).not.toMatch(/<td>list<\/td>/)
    expect(page.html).not.toMatch(/<td>whoami<\/td>/)

    const reads = await auditor.get('/console/audit?changes_only=false&from=')
    expect(reads.html).toContain('Showing changes and reads, from ')
    expect(reads.html).toMatch(/<td>list<\/td>/)
    expect(reads.html).not.toMatch(/<td>whoami<\/td>/)

    const views = await auditor.get('/console/audit?changes_only=false&page_views=only&from=')
    expect(views.html).toContain('console page views only')
    expect(views.html).toMatch(/<td>audit<\/td>/)
    expect(views.html).not.toMatch(/<td>list<\/td>/)
  })

  it('never carries the default range into a search, and presets keep the filters', async () => {
    const auditor = await signedIn(KEYS.auditor)
    const first = await auditor.get('/console/audit')
    // The default view's range is said above the form, and its From field is empty: a search from
    // here is over everything kept.
    expect(first.html).toContain(
      '<input id="f-from" name="from" type="datetime-local" step="1" value=""',
    )

    const filtered = await auditor.get(
      '/console/audit?member=alice&action=delete&changes_only=false',
    )
    const presets = [...filtered.html.matchAll(/<a class="button secondary" href="([^"]+)">Last/g)]
    expect(presets).toHaveLength(3)
    for (const [, href] of presets) {
      const params = new URL(unescape(href!), 'https://x').searchParams
      expect(params.get('member')).toBe('alice')
      expect(params.get('action')).toBe('delete')
      expect(params.get('changes_only')).toBe('false')
      expect(params.get('from')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/)
    }
    const everything = /<a class="button secondary" href="([^"]+)">\s*Everything kept/.exec(
      filtered.html,
    )![1]!
    expect(new URL(unescape(everything), 'https://x').searchParams.get('member')).toBe('alice')

    // An empty narrow range offers the rest of the log, with the same filters.
    const narrow = await auditor.get(
      '/console/audit?certificate_name=never-uploaded&from=2026-01-01T00:00&to=2026-01-01T00:01',
    )
    const rest = /<a href="([^"]+)">Search everything kept<\/a>/.exec(narrow.html)![1]!
    const params = new URL(unescape(rest), 'https://x').searchParams
    expect(params.get('certificate_name')).toBe('never-uploaded')
    expect(params.get('from')).toBe('')
    expect(params.has('to')).toBe(false)
  })

  it('keeps the filters and the page on the way back from an entry', async () => {
    await uploadedId({ name: 'way-back-1' }, { key: KEYS.alice })
    await uploadedId({ name: 'way-back-2' }, { key: KEYS.alice })
    const auditor = await signedIn(KEYS.auditor)
    const first = await auditor.get(
      '/console/audit?certificate_name_prefix=way-back-&action=upload&limit=1&from=',
    )
    const next = unescape(/<a href="([^"]+)" rel="next">/.exec(first.html)![1]!)
    const second = await auditor.get(next)
    expect(second.html).toContain('way-back-1')
    const entryHref = unescape(
      /<a\s+href="(\/console\/audit\/entries\/[^"]+)"/.exec(second.html)![1]!,
    )
    const entry = await auditor.get(entryHref)
    expect(entry.status).toBe(200)
    const back = unescape(/<a href="([^"]+)" rel="up">/.exec(entry.html)![1]!)
    const wanted = new URL(next, 'https://x').searchParams
    const got = new URL(back, 'https://x').searchParams
    for (const name of ['certificate_name_prefix', 'action', 'limit', 'cursor']) {
      expect(got.get(name)).toBe(wanted.get(name))
    }
    const again = await auditor.get(back)
    expect(again.html).toContain('way-back-1')
    expect(again.html).not.toContain('way-back-2')
  })
})

describe('an entry page', () => {
  it('reads as a sentence, codes with their meaning, integrity below', async () => {
    const id = await uploadedId({ ca: true, name: 'sentence-ca' }, { key: KEYS.alice })
    const parked = await callJson(certificateUrl(id), { method: 'DELETE', key: KEYS.bob })
    const approvalId = (parked.body as unknown as { approval: { id: string } }).approval.id
    const approved = await call(`${GATEWAY}/approvals/${approvalId}/approve`, {
      method: 'POST',
      key: KEYS.admin,
    })
    expect(approved.status).toBe(200)
    const auditor = await signedIn(KEYS.auditor)
    const page = await auditor.get(`/console/audit/entries/${approved.headers.get('x-request-id')}`)
    expect(page.status).toBe(200)
    expect(page.html).toContain(
      `admin (platform) deleted &quot;sentence-ca&quot; (CA of payments, ${id}), approving the request of bob.`,
    )
    expect(page.html).toMatch(/Allowed by rule [a-z-]+ under policy revision [0-9a-f]{12}\./)
    expect(page.html).toContain('Approval: requested by bob, approved by admin')
    expect(page.html).toContain('<dt>CA or leaf</dt><dd>CA</dd>')
    // The sentence first, the facts, then the integrity.
    const at = (text: string) => page.html.indexOf(text)
    expect(at('In a sentence')).toBeGreaterThan(0)
    expect(at('In a sentence')).toBeLessThan(at('What happened'))
    expect(at('What happened')).toBeLessThan(at('<h2>Integrity</h2>'))

    // The requester's parked delete: nothing deleted, its code with its meaning.
    const request = await auditor.get(
      `/console/audit/entries/${parked.response.headers.get('x-request-id')}`,
    )
    expect(request.html).toContain('bob (payments) asked to delete &quot;sentence-ca&quot;')
    expect(request.html).toContain('nothing was deleted')
    expect(request.html).toMatch(/<code>18309<\/code>: [A-Z]/)
    expect(request.html).not.toContain('approved by')
  })
})

// The stored entries of this file never hold a page view's query string: only what the route is.
describe('a page view on record', () => {
  it('holds no query string or form value', async () => {
    const auditor = await signedIn(KEYS.auditor)
    await auditor.get('/console/audit?certificate_name=secret-looking-name&from=')
    const views = (await auditEntries()).filter((e) => e.page_view === true)
    expect(JSON.stringify(views)).not.toContain('secret-looking-name')
  })
})
