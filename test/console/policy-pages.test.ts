/**
 * The console's policy pages (issue 20, item 7), through the Worker in managed mode: the current
 * revision in a readable form (never a key hash) and its history; the diff of two revisions with
 * its structural and access tables; proposals listed, reviewed, approved by a second admin (the
 * author's own approval refused in words), rejected; each form refused without its CSRF token;
 * and only the members the policy allows `policy` reach them.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { Proposal } from '../../src/control/proposal'
import { hashKey } from '../../src/identity/keys'
import { GATEWAY, call, callJson, certificatesUrl } from '../support/gateway'
import { KEYS } from '../support/identities'
import { Browser } from './support'
import { emptyPolicyStore } from '../support/coordinator'

const managed = { POLICY_MODE: 'managed' } as Partial<Env>

beforeEach(async () => {
  await emptyPolicyStore()
})

type Doc = {
  members: { id: string; roles: string[]; revoked?: boolean }[]
  rules: Record<string, unknown>[]
}

async function current(): Promise<{ id: string; document: Doc }> {
  const { status, body } = await callJson<{ id: string; document: Doc }>(`${GATEWAY}/policy`, {
    env: managed,
  })
  expect(status).toBe(200)
  return body.result!
}

async function propose(base: string, document: unknown, reason = 'console test') {
  const { status, body } = await callJson<{ proposal: Proposal }>(`${GATEWAY}/policy/proposals`, {
    method: 'POST',
    key: KEYS.admin,
    env: managed,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ base, document, reason }),
  })
  expect(status).toBe(200)
  return body.result!.proposal
}

async function signedIn(key: string, options: { env?: Partial<Env> } = { env: managed }) {
  const browser = new Browser(options)
  expect((await browser.signIn(key)).status).toBe(303)
  return browser
}

/** The text of a page without its tags, for reading sentences. */
const textOf = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')

describe('the policy page', () => {
  it('shows the current revision readably, its history, and never a key hash', async () => {
    const { id } = await current()
    const admin = await signedIn(KEYS.admin)
    const page = await admin.get('/console/policy')
    expect(page.status).toBe(200)
    const text = textOf(page.html)
    expect(page.html).toContain(id)
    expect(text).toContain('managed: changed here and through the API')
    expect(text).toContain('POLICY secret')
    expect(text).toContain('bootstrap')
    // Members with their roles and how they sign in, rules in words.
    expect(text).toMatch(/bob payments lead a gateway key \(its hash kept, never shown\)/)
    expect(text).toContain('revoked')
    expect(page.html).toContain('teams-read-own')
    for (const key of Object.values(KEYS)) {
      expect(page.html).not.toContain(await hashKey(key))
      expect(page.html).not.toContain(key)
    }
  })

  it('is refused to a member the policy does not allow `policy`, and not in their navigation', async () => {
    const bob = await signedIn(KEYS.bob)
    const home = await bob.get('/console')
    expect(home.html).not.toContain('href="/console/policy"')
    const refused = await bob.get('/console/policy')
    expect(refused.status).toBe(403)
    const admin = await (await signedIn(KEYS.admin)).get('/console')
    expect(admin.html).toContain('href="/console/policy"')
  })

  it('says a pinned policy keeps its history in git', async () => {
    const admin = await signedIn(KEYS.admin, {})
    const page = await admin.get('/console/policy')
    expect(page.status).toBe(200)
    expect(textOf(page.html)).toContain('pinned: the POLICY secret is the policy')
    expect(textOf(page.html)).toContain('its git history')
  })
})

describe('the diff of two revisions', () => {
  it('lists the history newest first and shows what a change did, case by case', async () => {
    const { id: base, document } = await current()
    document.members.find((m) => m.id === 'alice')!.revoked = true
    const applied = await propose(base, document, 'alice left')
    expect(applied.status).toBe('applied')
    const after = applied.revision.id

    const admin = await signedIn(KEYS.admin)
    const page = await admin.get('/console/policy')
    const diffHref = `/console/policy/diff?${new URLSearchParams({ from: base, to: after })}`
    expect(page.html).toContain(diffHref.replaceAll('&', '&amp;'))
    const history = page.html.slice(page.html.indexOf('aria-label="Revision history"'))
    expect(history.indexOf(`/console/policy/revisions/${after}`)).toBeGreaterThan(0)
    expect(history.indexOf(`/console/policy/revisions/${after}`)).toBeLessThan(
      history.indexOf(`/console/policy/revisions/${base}`),
    )
    expect(page.html).toContain('alice left')

    const diff = await admin.get(diffHref)
    expect(diff.status).toBe(200)
    const text = textOf(diff.html)
    expect(text).toContain('It does not widen access')
    // The structural diff names alice as changed; the access diff lists her newly denied cases.
    expect(text).toMatch(/Members none none alice/)
    expect(text).toMatch(/Newly denied: \d+ cases/)
    expect(text).toContain('member alice upload')
    expect(text).not.toContain('Newly allowed:')

    // The other way round, the same change widens: newly allowed, with its reason.
    const back = await admin.get(
      `/console/policy/diff?${new URLSearchParams({ from: after, to: base })}`,
    )
    expect(textOf(back.html)).toMatch(/Newly allowed: \d+ cases/)
    expect(textOf(back.html)).toContain('a second admin must approve it')
  })

  it('refuses an id that is not a revision id, and one that is not stored', async () => {
    await current()
    const admin = await signedIn(KEYS.admin)
    const bad = await admin.get('/console/policy/diff?from=nope&to=nope')
    expect(bad.status).toBe(400)
    const missing = await admin.get(
      `/console/policy/diff?${new URLSearchParams({ from: 'a'.repeat(64), to: 'b'.repeat(64) })}`,
    )
    expect([missing.status, missing.html.includes('18356')]).toEqual([404, true])
  })
})

describe('proposals in the console', () => {
  /** A widening change (alice made a lead, who may delete), filed by the admin, pending. */
  async function widening() {
    const { id: base, document } = await current()
    document.members.find((m) => m.id === 'alice')!.roles = ['developer', 'lead']
    const proposal = await propose(base, document, 'alice leads payments now')
    expect(proposal.status).toBe('pending')
    return { base, proposal }
  }

  it('lists a pending proposal and shows its review with its diff; the author cannot approve it', async () => {
    const { proposal } = await widening()
    const admin = await signedIn(KEYS.admin)
    const list = await admin.get('/console/policy/proposals')
    expect(list.status).toBe(200)
    expect(list.html).toContain(`href="/console/policy/proposals/${proposal.id}"`)
    expect(textOf(list.html)).toContain('alice leads payments now')

    const review = await admin.get(`/console/policy/proposals/${proposal.id}`)
    const text = textOf(review.html)
    expect(text).toContain('member alice given lead, and may delete')
    expect(text).toMatch(/Newly allowed: \d+ cases/)
    expect(text).toContain('member alice delete')
    // The author is told why there is nothing to approve, and has no approve form.
    expect(text).toContain('you cannot approve your own change')
    expect(review.html).not.toContain(`action="/console/policy/proposals/${proposal.id}/approve"`)
    // Posting anyway is refused, with the reason in words.
    const self = await admin.post(`/console/policy/proposals/${proposal.id}/approve`, {
      csrf: await admin.csrf(`/console/policy/proposals/${proposal.id}`),
    })
    expect(self.status).toBe(403)
    expect(textOf(self.html)).toContain('its author cannot approve it')
    expect(self.html).toContain('18354')
    expect((await current()).id).not.toBe(proposal.revision.id)
  })

  it("replays the last 30 days under a proposal on its own page, each changed decision's requests linked", async () => {
    // One recorded request the proposal decides otherwise: bob's list, bob revoked by it.
    const listed = await call(certificatesUrl(), { key: KEYS.bob, env: managed })
    expect(listed.status).toBe(200)
    const requestId = listed.headers.get('x-request-id')!
    const { id: base, document } = await current()
    document.members.find((m) => m.id === 'bob')!.revoked = true
    const proposal = await propose(base, document, 'bob leaves')
    const admin = await signedIn(KEYS.admin)
    const review = await admin.get(`/console/policy/proposals/${proposal.id}`)
    expect(review.html).toContain(`href="/console/policy/proposals/${proposal.id}/what-if"`)

    const replay = await admin.get(`/console/policy/proposals/${proposal.id}/what-if`)
    expect(replay.status).toBe(200)
    const text = textOf(replay.html)
    expect(text).toMatch(/payments list allow → deny 1 /)
    expect(replay.html).toContain(`href="/console/audit/entries/${requestId}"`)
    expect(text).toContain('Not replayed')
    // Whoever may not change the policy may not replay it either.
    const alice = await signedIn(KEYS.alice)
    expect((await alice.get(`/console/policy/proposals/${proposal.id}/what-if`)).status).toBe(403)
  })

  it('lets a second admin approve it, once: it becomes the current revision', async () => {
    const { proposal } = await widening()
    const admin2 = await signedIn(KEYS.admin2)
    const path = `/console/policy/proposals/${proposal.id}`
    const review = await admin2.get(path)
    expect(review.html).toContain(`action="${path}/approve"`)
    // Without its CSRF token, or from another origin, the form is refused and nothing applies.
    const forged = await admin2.post(`${path}/approve`, { csrf: 'forged' })
    expect([forged.status, forged.html.includes('18011')]).toEqual([403, true])
    const elsewhere = await admin2.post(
      `${path}/approve`,
      { csrf: await admin2.csrf(path) },
      { origin: 'https://evil.test' },
    )
    expect(elsewhere.status).toBe(403)
    expect((await current()).id).not.toBe(proposal.revision.id)

    const approved = await admin2.post(`${path}/approve`, { csrf: await admin2.csrf(path) })
    expect(approved.status).toBe(303)
    expect(approved.response.headers.get('location')).toBe(`${path}?done=applied`)
    expect((await current()).id).toBe(proposal.revision.id)
    const after = await admin2.get(`${path}?done=applied`)
    expect(textOf(after.html)).toContain('Approved and applied')
    expect(textOf(after.html)).toContain('By admin2')
    expect(after.html).not.toContain(`action="${path}/approve"`)
    const again = await admin2.post(`${path}/approve`, { csrf: await admin2.csrf('/console') })
    expect([again.status, again.html.includes('18353')]).toEqual([409, true])
  })

  it('rejects it: nothing changes; a member not allowed `policy` can do neither', async () => {
    const { base, proposal } = await widening()
    const path = `/console/policy/proposals/${proposal.id}`
    const bob = await signedIn(KEYS.bob)
    expect((await bob.get(path)).status).toBe(403)
    const bobRejects = await bob.post(`${path}/reject`, { csrf: await bob.csrf('/console') })
    expect(bobRejects.status).toBe(403)

    const admin2 = await signedIn(KEYS.admin2)
    const rejected = await admin2.post(`${path}/reject`, { csrf: await admin2.csrf(path) })
    expect(rejected.status).toBe(303)
    expect((await current()).id).toBe(base)
    const page = await admin2.get(`${path}?done=rejected`)
    expect(textOf(page.html)).toContain('Rejected: nothing changed')
    const list = await admin2.get('/console/policy/proposals')
    expect(list.html).toMatch(/badge bad">rejected</)
  })
})

describe('a rollback from a revision page', () => {
  it('proposes an earlier revision again, under the same rules: a widening one waits for a second admin', async () => {
    const { id: base, document } = await current()
    document.members.find((m) => m.id === 'alice')!.revoked = true
    const applied = await propose(base, document, 'alice left')
    expect(applied.status).toBe('applied')

    const admin = await signedIn(KEYS.admin)
    const currentPage = await admin.get(`/console/policy/revisions/${applied.revision.id}`)
    expect(currentPage.html).not.toContain('/rollback"')
    const path = `/console/policy/revisions/${base}`
    const earlier = await admin.get(path)
    expect(earlier.html).toContain(`action="${path}/rollback"`)
    const csrf = await admin.csrf(path)
    const noReason = await admin.post(`${path}/rollback`, { csrf, base: applied.revision.id })
    expect(noReason.status).toBe(400)
    const forged = await admin.post(`${path}/rollback`, {
      csrf: 'forged',
      base: applied.revision.id,
      reason: 'alice is back',
    })
    expect(forged.status).toBe(403)

    const filed = await admin.post(`${path}/rollback`, {
      csrf,
      base: applied.revision.id,
      reason: 'alice is back',
    })
    expect(filed.status).toBe(303)
    const proposalPath = filed.response.headers.get('location')!.replace(/^https?:\/\/[^/]+/, '')
    const review = await admin.get(proposalPath)
    expect(textOf(review.html)).toContain('Proposed rollback')
    expect(textOf(review.html)).toContain('Waiting for a second admin')
    expect((await current()).id).toBe(applied.revision.id)

    const admin2 = await signedIn(KEYS.admin2)
    const approved = await admin2.post(`${proposalPath}/approve`, {
      csrf: await admin2.csrf(proposalPath),
    })
    expect(approved.status).toBe(303)
    expect((await current()).id).toBe(base)
  })
})
