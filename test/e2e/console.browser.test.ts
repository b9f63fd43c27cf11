/**
 * The review console in a real browser: Debian's Chromium driven by playwright-core, against the
 * gateway and emulator as `npm start` runs them. A reviewer's day: sign in with a demo key, look
 * at certificates (an expiring one marked, one named like a script shown as text), assign an
 * unowned one, approve a parked delete, filter the audit log, open an entry, export it both ways,
 * see the chart, sign out. And what must not work: inline script (the CSP), cross-site form posts,
 * forged, expired and signed-out cookies.
 *
 * Screenshots of each page and the load times go to test-artifacts/console/ (git-ignored); with
 * CONSOLE_README_SHOTS=1 the README's images (docs/console/) are written too.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash, createHmac, hkdfSync } from 'node:crypto'
import {
  launchChromium,
  parkedCaDelete,
  ROOT,
  signIn,
  unownedCertificate,
  url,
} from './support/browser'
import { makeCertificate } from './support/certificates'
import { ACCOUNT, DEMO_KEYS, api, certificatesPath, e2e, gateway, upload } from './support/context'

const ARTIFACTS = path.join(ROOT, 'test-artifacts/console')
const README_SHOTS = path.join(ROOT, 'docs/console')
const XSS = '<script>alert(1)</script>'
/** scripts/dev-servers.mjs signs the demo's audit log (and so its sessions) with this. */
const DEMO_AUDIT_SIGNING_KEY = 'demo-audit-signing-key-not-a-secret-0000'

/**
 * A session cookie made the way the README says the gateway makes one (HKDF-SHA256 of the audit
 * signing key, salt "mtls-gateway/console", info "console-session/v1"; HMAC of "session\n" + the
 * payload), here with Node's crypto: an independent check of the documented derivation.
 */
function sealedCookie(fields: {
  sid: string
  m: string
  keySha256: string
  iat: number
  exp: number
}) {
  const key = Buffer.from(
    hkdfSync('sha256', DEMO_AUDIT_SIGNING_KEY, 'mtls-gateway/console', 'console-session/v1', 32),
  )
  const mac = (purpose: string, text: string) =>
    createHmac('sha256', key).update(`${purpose}\n${text}`).digest('base64url')
  const payload = Buffer.from(
    JSON.stringify({
      sid: fields.sid,
      m: fields.m,
      kb: mac('member-key', fields.keySha256),
      iat: fields.iat,
      exp: fields.exp,
    }),
  ).toString('base64url')
  return `v1.${payload}.${mac('session', payload)}`
}

interface Timing {
  responseEnd: number
  loadEnd: number
}

/**
 * What runs inside the page, as expressions (this file is type-checked for Node, without the DOM).
 * tryInlineScript adds an inline script and an inline event handler, as an escaping bug would,
 * and reports whether either ran and which CSP directives the browser enforced.
 */
const IN_BROWSER = {
  pageSize: `({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight })`,
  overflow: `document.documentElement.scrollWidth - window.innerWidth`,
  navigationTiming: `(() => {
    const [nav] = performance.getEntriesByType('navigation')
    return { responseEnd: nav.responseEnd, loadEnd: nav.loadEventEnd }
  })()`,
  tryInlineScript: `(async () => {
    const violations = []
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective))
    const script = document.createElement('script')
    script.textContent = 'window.__ran = true'
    document.body.append(script)
    const img = document.createElement('img')
    img.setAttribute('src', '/console/assets/icon-v3.svg?broken')
    img.setAttribute('onload', 'window.__ran = true')
    document.body.append(img)
    await new Promise((resolve) => setTimeout(resolve, 300))
    return { ran: window.__ran === true, violations }
  })()`,
  focusedText: `document.activeElement?.textContent`,
  focusedId: `document.activeElement?.id`,
}

let browser: Browser
let context: BrowserContext
let page: Page
const dialogs: string[] = []
const timings: Record<string, { responseEnd: number; loadEnd: number }> = {}
let made: { xss: string; expiring: string; unowned: string; approval: string; ca: string }

/** The whole page as an artefact; for the README, its first 1,200 pixels (small files). */
async function shoot(name: string, target: Page = page, options = { readme: true }) {
  mkdirSync(ARTIFACTS, { recursive: true })
  await target.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true })
  if (process.env.CONSOLE_README_SHOTS && options.readme) {
    mkdirSync(README_SHOTS, { recursive: true })
    const { width, height } = await target.evaluate<{ width: number; height: number }>(
      IN_BROWSER.pageSize,
    )
    await target.screenshot({
      path: path.join(README_SHOTS, `${name}.png`),
      fullPage: true,
      clip: { x: 0, y: 0, width, height: Math.min(height, 1200) },
    })
  }
}

/** Opens a page and keeps its navigation timing (ms from the start of the navigation). */
async function open(p: string, name?: string) {
  const response = await page.goto(url(p))
  const timing = await page.evaluate<Timing>(IN_BROWSER.navigationTiming)
  if (name) timings[name] = timing
  return response!
}

async function sessionCookie() {
  return (await context.cookies()).find((c) => c.name === 'mtlsgw_console')
}

beforeAll(async () => {
  browser = await launchChromium()
  // What a team would have done through the API before the reviewer looks.
  const xss = await upload(gateway(), DEMO_KEYS.alice, {
    ca: false,
    certificates: (await makeCertificate({ cn: 'xss name' })).pem,
    name: XSS,
  })
  const expiring = await upload(gateway(), DEMO_KEYS.bob, {
    ca: false,
    certificates: (await makeCertificate({ cn: 'payments edge', validDays: 12 })).pem,
    name: 'payments-edge-expiring',
  })
  const unowned = await unownedCertificate('legacy-unowned', 'legacy')
  const parked = await parkedCaDelete('payments-old-root', 'payments old root')
  // A denied delete (alice is a developer), for the audit page to mark.
  const denied = await api(gateway(), DEMO_KEYS.alice, certificatesPath(xss.id), {
    method: 'DELETE',
  })
  expect(denied.status).toBe(403)
  made = {
    xss: xss.id,
    expiring: expiring.id,
    unowned,
    ca: parked.id,
    approval: parked.approval,
  }

  context = await browser.newContext({
    viewport: { width: 1000, height: 720 },
    acceptDownloads: true,
  })
  // Pages answer in milliseconds locally: a locator still waiting after 10 s is a failure.
  context.setDefaultTimeout(10_000)
  page = await context.newPage()
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
}, 60_000)

afterAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  writeFileSync(path.join(ARTIFACTS, 'timings.json'), JSON.stringify(timings, null, 2))
  await browser?.close()
})

describe('the review console in Chromium', () => {
  it('asks for a key, and signs in with a demo key', async () => {
    const first = await open('/console/certificates', 'sign-in')
    expect(first.status()).toBe(401)
    expect(await page.locator('h1').textContent()).toBe('Sign in')
    await page.getByLabel('Gateway key').fill(DEMO_KEYS.admin)
    await shoot('sign-in')
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ])
    expect(answer.status()).toBe(303)
    await page.waitForURL(url('/console/certificates'))
    expect(await page.locator('header .who strong').textContent()).toBe('admin')
    const cookie = await sessionCookie()
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' })
    expect(cookie!.value).not.toContain(DEMO_KEYS.admin)
    expect(await page.content()).not.toContain(DEMO_KEYS.admin)
  })

  it('shows certificates per team, an expiring one marked, a script-like name as text', async () => {
    await open('/console/certificates', 'certificates')
    const expiring = page.locator(`tr[data-certificate-id="${made.expiring}"]`)
    expect(await expiring.getAttribute('class')).toBe('expiring')
    expect(await expiring.locator('.badge').textContent()).toMatch(/^expires in 1[12] days$/)
    const xss = page.locator(`tr[data-certificate-id="${made.xss}"] th a`)
    expect(await xss.textContent()).toBe(XSS)
    expect(dialogs).toEqual([])
    await shoot('certificates')
  })

  it('lets the admin assign an unowned certificate', async () => {
    const row = page.locator(`tr[data-certificate-id="${made.unowned}"]`)
    await row.getByLabel(/Assign to/).selectOption('identity')
    await row.getByRole('button', { name: 'Assign' }).click()
    await page.waitForURL(/assigned=/)
    expect(await page.getByRole('status').textContent()).toContain(
      `Assigned ${made.unowned} to identity`,
    )
    // Issue 22: the owning team is the column after the name and the expiry.
    const owner = page.locator(`tr[data-certificate-id="${made.unowned}"] td:nth-child(3)`)
    expect((await owner.textContent())?.trim()).toBe('identity')
  })

  it('approves a parked delete from the approvals page', async () => {
    await open('/console/approvals', 'approvals')
    const row = page.locator('tr', { hasText: made.approval })
    expect(await row.textContent()).toContain('payments-old-root')
    await shoot('approvals')
    // Issue 22: the list leads to the review page; the delete is confirmed there, a second step.
    await row.getByRole('link', { name: 'Review payments-old-root' }).click()
    await page.waitForURL(/\/console\/approvals\/[0-9a-f-]{36}$/)
    expect(await page.locator('main').textContent()).toContain('No Cloudflare service uses it now')
    await shoot('approval-review', page, { readme: false })
    await page.getByRole('button', { name: 'Delete payments-old-root' }).click()
    await page.waitForURL(/approved=/)
    expect(await page.getByRole('status').textContent()).toContain('payments-old-root is deleted')
    const gone = await api(gateway(), DEMO_KEYS.admin, certificatesPath(made.ca))
    expect(gone.status).toBe(404)
  })

  it('filters the audit log, marks denied entries and draws the chart', async () => {
    await open('/console/audit', 'audit')
    const chart = page.locator('figure.chart svg[role="img"]')
    expect(await chart.count()).toBe(1)
    expect(Number(await page.locator('figure.chart rect').count())).toBeGreaterThan(0)
    expect(await page.locator('figure.chart rect.o-denied').count()).toBeGreaterThan(0)
    await shoot('audit')
    const filters = page.locator('form.filters')
    await filters.getByLabel('Outcome').selectOption('denied')
    await filters.getByLabel('Member').selectOption('alice')
    await page.getByRole('button', { name: 'Filter' }).click()
    await page.waitForURL(/outcome=denied/)
    const rows = page.getByRole('region', { name: 'Audit entries' }).locator('tbody tr')
    expect(await rows.count()).toBeGreaterThan(0)
    for (const cls of await rows.evaluateAll((trs) => trs.map((tr) => tr.className))) {
      expect(cls).toBe('denied')
    }
    await shoot('audit-filtered', page, { readme: false })
  })

  it('opens an entry with its decision, outcome and signature check', async () => {
    await page.locator('tbody tr a[href^="/console/audit/entries/"]').first().click()
    await page.waitForURL(/\/console\/audit\/entries\//)
    timings['audit-entry'] = await page.evaluate<Timing>(IN_BROWSER.navigationTiming)
    expect(await page.getByRole('status').first().textContent()).toContain('Signature valid')
    expect(await page.locator('dl.facts').textContent()).toContain('denied')
    await shoot('audit-entry')
  })

  it('exports the filtered log as NDJSON and CSV', async () => {
    await open(`/console/audit?certificate=${made.xss}&from=`)
    // The entries carrying the script-like name show it as text too.
    expect(
      await page.getByRole('region', { name: 'Audit entries' }).locator('tbody').textContent(),
    ).toContain(XSS)
    expect(dialogs).toEqual([])
    for (const [label, format] of [
      ['Export NDJSON', 'ndjson'],
      ['Export CSV', 'csv'],
    ] as const) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: label }).click(),
      ])
      expect(download.suggestedFilename()).toBe(`audit.${format}`)
      const text = readFileSync((await download.path())!, 'utf8')
      if (format === 'ndjson') {
        const lines = text
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>)
        expect(lines.at(-1)).toMatchObject({ complete: true })
        expect(lines.some((l) => l.certificate_name === XSS)).toBe(true)
      } else {
        expect(text.split('\r\n')[0]).toMatch(/^time,id,kind,/)
        expect(text).toMatch(/# complete; \d+ entries/)
      }
    }
  })

  it('shows the API reference from /openapi.json, with nothing from elsewhere', async () => {
    const requested: string[] = []
    page.on('request', (request) => requested.push(request.url()))
    await open('/console/reference', 'reference')
    expect(await page.locator('h1').textContent()).toContain('API reference')
    expect(
      await page.getByRole('heading', { name: /\/gateway\/v1\/audit$/ }).count(),
    ).toBeGreaterThan(0)
    expect(requested.every((r) => r.startsWith(e2e().gatewayUrl))).toBe(true)
    page.removeAllListeners('request')
    await shoot('reference')
  })

  it("shows the budgets: the breaker and each team's use of the shared token", async () => {
    await open('/console/budgets', 'budgets')
    expect(await page.locator('h1').textContent()).toContain('Budgets')
    expect(await page.getByText(/Calls to Cloudflare are (flowing|paused)/).count()).toBe(1)
    const rows = await page.locator('tbody th[scope="row"]').allTextContents()
    expect(rows).toContain('payments')
    expect(await page.locator('meter').count()).toBe(rows.length)
    await shoot('budgets')
  })

  it('blocks inline script with its CSP', async () => {
    await open('/console/certificates')
    const outcome = await page.evaluate<{ ran: boolean; violations: string[] }>(
      IN_BROWSER.tryInlineScript,
    )
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ ran: false })
    expect(outcome.violations).toEqual(
      expect.arrayContaining(['script-src-elem', 'script-src-attr']),
    )
  })

  it('is readable on a phone: one column, tables scroll inside their own region', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
    })
    await phone.addCookies([(await sessionCookie())!])
    const small = await phone.newPage()
    await small.goto(url('/console/certificates'))
    const overflow = await small.evaluate<number>(IN_BROWSER.overflow)
    expect(overflow).toBeLessThanOrEqual(0)
    await shoot('phone-certificates', small)
    await phone.close()
  })

  it('can be used by keyboard: the first Tab reaches "Skip to content"', async () => {
    await open('/console')
    await page.keyboard.press('Tab')
    expect(await page.evaluate<string>(IN_BROWSER.focusedText)).toBe('Skip to content')
    await page.keyboard.press('Enter')
    expect(await page.evaluate<string>(IN_BROWSER.focusedId)).toBe('main')
  })

  it('refuses a form posted from another site, and the session survives it', async () => {
    const attacker: Server = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html')
      response.end(
        `<form id="f" method="post" action="${url(`/console/approvals/${made.approval}/approve`)}">` +
          `<input name="csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`,
      )
    })
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve))
    const port = (attacker.address() as { port: number }).port
    try {
      const answered = page.waitForResponse((r) => r.url().includes('/approve'))
      await page.goto(`http://localhost:${port}/`)
      const response = await answered
      // SameSite=Strict kept the cookie home (401), and without it the Origin check would (403).
      expect([401, 403]).toContain(response.status())
    } finally {
      attacker.close()
    }
    await open('/console')
    expect(await page.locator('header .who strong').textContent()).toBe('admin')
  })

  it('refuses a forged and an expired cookie', async () => {
    const real = (await sessionCookie())!
    const [v, payload, mac] = real.value.split('.')
    const fields = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
      string,
      unknown
    >
    const forged = Buffer.from(JSON.stringify({ ...fields, m: 'auditor' })).toString('base64url')
    const adminKeySha256 = createHash('sha256').update(DEMO_KEYS.admin).digest('hex')
    const now = Date.now()
    const cookie = (exp: number) =>
      sealedCookie({
        sid: 'e2e-session-0000',
        m: 'admin',
        keySha256: adminKeySha256,
        iat: now - 9 * 3_600_000,
        exp,
      })
    const expired = cookie(now - 1000)
    // The same cookie unexpired is taken, so the refusal below is for the expiry alone.
    await context.addCookies([{ ...real, value: cookie(now + 600_000) }])
    expect((await open('/console')).status()).toBe(200)
    for (const value of [[v, forged, mac].join('.'), expired]) {
      await context.addCookies([{ ...real, value }])
      const response = await open('/console/audit')
      expect(response.status()).toBe(401)
      expect(await page.locator('h1').textContent()).toBe('Sign in')
    }
    await context.addCookies([real])
    expect((await open('/console')).status()).toBe(200)
  })

  it('signs out, and the signed-out cookie is refused', async () => {
    const before = (await sessionCookie())!
    await open('/console')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/notice=signed_out/)
    expect(await page.getByRole('status').textContent()).toContain('You are signed out')
    expect(await sessionCookie()).toBeUndefined()
    await context.addCookies([before])
    const response = await open('/console/certificates')
    expect(response.status()).toBe(401)
    expect(await page.locator('main').textContent()).toContain('signed out')
  })

  it('signs in as the auditor, who reads the log and every certificate, read-only', async () => {
    await signIn(page, DEMO_KEYS.auditor)
    expect((await open('/console/audit')).status()).toBe(200)
    // Issue 22: the inventory, every team's and the unowned, with no assign form.
    expect((await open('/console/certificates')).status()).toBe(200)
    for (const id of [made.xss, made.expiring, made.unowned]) {
      await expect(page.locator(`tr[data-certificate-id="${id}"]`).count()).resolves.toBe(1)
    }
    expect(await page.locator('form[action$="/owner"]').count()).toBe(0)
    expect(await page.locator('main').textContent()).toContain('Read-only')
    const nav = await page.locator('nav.main').textContent()
    expect(nav).toContain('Audit')
    expect(nav).toContain('Certificates')
  })
})

// Keeps the account referenced for readers: every page above is about this one.
void ACCOUNT
