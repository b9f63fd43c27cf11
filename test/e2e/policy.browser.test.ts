/**
 * The console's policy and members pages (issue 20) in a real browser, on a phone's width: Debian's
 * Chromium driven by playwright-core against the gateway and emulator as `npm start` runs them
 * (managed mode). Each page is opened at 390 px wide and must not be wider than the screen, and
 * axe-core must find no violation on it. Along the way: a narrowing change applied and a widening
 * one pending (through the API, as an admin would file them), their diff and review; a lead adds a
 * member in the form and sees the key once.
 *
 * Screenshots go to test-artifacts/console/policy-*.png (git-ignored).
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AXE, launchChromium, ROOT, signIn as signInPage, url } from './support/browser'
import { DEMO_KEYS } from './support/context'

const ARTIFACTS = path.join(ROOT, 'test-artifacts/console')

/** What runs inside the page, as expressions (this file is type-checked without the DOM). */
const IN_BROWSER = {
  overflow: `document.documentElement.scrollWidth - window.innerWidth`,
  axe: `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) })))`,
}

interface Violation {
  id: string
  impact: string
  nodes: string[]
}

let browser: Browser
let context: BrowserContext
let page: Page
let made: { base: string; after: string; pending: string }

async function gatewayApi<T>(key: string, p: string, body?: unknown) {
  const response = await fetch(url(`/gateway/v1${p}`), {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  })
  const json = (await response.json()) as { result: T }
  expect(response.status, JSON.stringify(json)).toBe(200)
  return json.result
}

type Doc = { members: { id: string; roles: string[]; revoked?: boolean }[] }
type Filed = { proposal: { id: string; status: string; revision: { id: string } } }

/**
 * Opens `p` at 390 px, checks nothing is wider than the screen and axe-core finds nothing, and
 * keeps a full-page screenshot. axe is evaluated over the DevTools protocol (the pages' CSP
 * forbids every script, as it should).
 */
async function check(p: string, name: string, status = 200) {
  const response = await page.goto(url(p))
  expect(response!.status(), p).toBe(status)
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: path.join(ARTIFACTS, `policy-${name}.png`), fullPage: true })
  expect(
    await page.evaluate<number>(IN_BROWSER.overflow),
    `${p} is wider than 390 px`,
  ).toBeLessThanOrEqual(0)
  await page.evaluate(AXE)
  const violations = await page.evaluate<Violation[]>(IN_BROWSER.axe)
  expect(violations, p).toEqual([])
}

/** This page, signed in afresh as `key` (the last session's cookie cleared first). */
async function signIn(key: string) {
  await context.clearCookies()
  await signInPage(page, key)
}

beforeAll(async () => {
  // An admin's two changes through the API: carol's membership revoked (narrowing, applied at
  // once), then alice made a lead (widening: pending until a second admin approves it).
  const first = await gatewayApi<{ id: string; document: Doc }>(DEMO_KEYS.admin, '/policy')
  first.document.members.find((m) => m.id === 'carol')!.revoked = true
  const narrowing = await gatewayApi<Filed>(DEMO_KEYS.admin, '/policy/proposals', {
    base: first.id,
    document: first.document,
    reason: 'carol moved on',
  })
  expect(narrowing.proposal.status).toBe('applied')
  // Each isolate learns the new revision within a second (control/served-policy.ts): wait for it.
  let second = await gatewayApi<{ id: string; document: Doc }>(DEMO_KEYS.admin, '/policy')
  for (let i = 0; i < 30 && second.id !== narrowing.proposal.revision.id; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    second = await gatewayApi<{ id: string; document: Doc }>(DEMO_KEYS.admin, '/policy')
  }
  expect(second.id).toBe(narrowing.proposal.revision.id)
  second.document.members.find((m) => m.id === 'alice')!.roles = ['developer', 'lead']
  const widening = await gatewayApi<Filed>(DEMO_KEYS.admin, '/policy/proposals', {
    base: second.id,
    document: second.document,
    reason: 'alice leads payments with bob',
  })
  expect(widening.proposal.status).toBe('pending')
  made = { base: first.id, after: second.id, pending: widening.proposal.id }

  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 390, height: 844 } })
  context.setDefaultTimeout(10_000)
  page = await context.newPage()
}, 60_000)

afterAll(async () => {
  await browser?.close()
})

describe('the policy and members pages in Chromium at 390 px', () => {
  it('the policy, a revision, a diff: readable on a phone, no axe violation', async () => {
    await signIn(DEMO_KEYS.admin)
    await check('/console/policy', 'current')
    expect(await page.locator('nav.main').textContent()).toContain('Policy')
    expect(await page.content()).toContain('carol moved on')
    // Pick two revisions in the form and compare them.
    await page.locator('#diff-from').selectOption(made.base)
    await page.locator('#diff-to').selectOption(made.after)
    await Promise.all([
      page.waitForURL(/\/console\/policy\/diff\?/),
      page.getByRole('button', { name: 'Compare' }).click(),
    ])
    expect(await page.locator('main').textContent()).toContain('Newly denied')
    await check(`/console/policy/diff?from=${made.base}&to=${made.after}`, 'diff')
    await check(`/console/policy/revisions/${made.after}`, 'revision')
    // An earlier revision offers the rollback form (with its reason field): checked too.
    await check(`/console/policy/revisions/${made.base}`, 'revision-earlier')
    expect(await page.getByLabel('Why? (kept with the revision)').count()).toBe(1)
  })

  it('the proposals and a review: the author is told a second admin must approve', async () => {
    await signIn(DEMO_KEYS.admin)
    await check('/console/policy/proposals', 'proposals')
    await check(`/console/policy/proposals/${made.pending}`, 'proposal')
    const main = (await page.locator('main').textContent()) ?? ''
    expect(main).toContain('you cannot approve your own change')
    expect(main).toContain('member alice given lead, and may delete')
    expect(await page.getByRole('button', { name: 'Approve and apply' }).count()).toBe(0)
  })

  it('a lead adds a member in the form and sees the key once; the list never shows it', async () => {
    await signIn(DEMO_KEYS.bob)
    expect(await page.locator('nav.main').textContent()).not.toContain('Policy')
    await check('/console/members', 'members')
    await page.getByLabel('Member id').fill('erin')
    await page.getByLabel('developer').check()
    await Promise.all([
      page.waitForURL(url('/console/members/mint')),
      page.getByRole('button', { name: 'Add and mint a key' }).click(),
    ])
    const key = await page.getByLabel('The key').inputValue()
    expect(key).toMatch(/^mtlsgw_/)
    await check('/console/members', 'members-after')
    expect(await page.content()).not.toContain(key)
    expect(await page.locator('main table').textContent()).toContain('erin')
  })
})
