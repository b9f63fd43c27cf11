/**
 * Every console page, for every role that may open it, on a phone (390 px wide) in Chromium:
 * nothing wider than the screen (the document's own scrollWidth, so a visually-hidden label
 * escaping its table region counts), no axe-core violation (WCAG 2.x A and AA rules, axe's
 * defaults), and a keyboard focus ring of at least 3 : 1 against what it is drawn on (WCAG 1.4.11).
 *
 * PAGES is one list: a page another part of the console adds goes there, with the roles that may
 * open it, and is checked the same way.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AXE,
  launchChromium,
  parkedCaDelete,
  signIn,
  unownedCertificate,
  url,
} from './support/browser'
import { makeCertificate } from './support/certificates'
import {
  ACCOUNT,
  DEMO_KEYS,
  api,
  certificatesPath,
  e2e,
  emulatorControl,
  gateway,
  upload,
} from './support/context'

const PHONE = { width: 390, height: 844 }

type Role = 'admin' | 'lead' | 'developer' | 'auditor'
const KEYS: Record<Role, string> = {
  admin: DEMO_KEYS.admin,
  lead: DEMO_KEYS.bob,
  developer: DEMO_KEYS.alice,
  auditor: DEMO_KEYS.auditor,
}
const EVERYONE: Role[] = ['admin', 'lead', 'developer', 'auditor']

/** What the pages show, made through the API first. */
interface Made {
  certificate: string
  approval: string
  requestId: string
}

/** Every console page, and the roles that may open it (the status it answers them). */
const PAGES: { name: string; path: (made: Made) => string; roles: Role[]; status?: number }[] = [
  { name: 'home', path: () => '/console', roles: EVERYONE },
  { name: 'certificates', path: () => '/console/certificates', roles: EVERYONE },
  {
    name: 'certificates, filtered',
    path: () => '/console/certificates?team=payments&q=phone&sort=name',
    roles: ['admin', 'auditor'],
  },
  {
    name: 'a certificate',
    path: (m) => `/console/certificates/${ACCOUNT}/${m.certificate}`,
    roles: EVERYONE,
  },
  { name: 'approvals', path: () => '/console/approvals', roles: EVERYONE },
  {
    name: 'an approval',
    path: (m) => `/console/approvals/${m.approval}`,
    roles: ['admin', 'lead', 'auditor'],
  },
  { name: 'audit log', path: () => '/console/audit', roles: ['admin', 'auditor'] },
  {
    name: 'an audit entry',
    path: (m) => `/console/audit/entries/${m.requestId}`,
    roles: ['admin', 'auditor'],
  },
  { name: 'budgets', path: () => '/console/budgets', roles: EVERYONE },
  { name: 'API reference', path: () => '/console/reference', roles: ['auditor'] },
  // lifecycle/expiring (issue 23): every role that may list certificates.
  { name: 'expiring', path: () => '/console/expiring?within=90', roles: EVERYONE },
  // Error pages are pages too.
  { name: 'not found', path: () => '/console/nowhere', roles: ['developer'], status: 404 },
  { name: 'not allowed', path: () => '/console/audit', roles: ['developer'], status: 403 },
]

/** Runs in the page (this file is type-checked for Node, without the DOM): as expressions. */
const IN_BROWSER = {
  width: `document.documentElement.scrollWidth`,
  axe: `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
    id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`,
  /**
   * The focused element's outline colour against the first opaque background behind it (the
   * outline is drawn outside the element, offset: on its parent's background), as a WCAG ratio.
   */
  focusContrast: `(() => {
    const el = document.activeElement
    if (!el || el === document.body) return null
    const style = getComputedStyle(el)
    if (style.outlineStyle === 'none' || parseFloat(style.outlineWidth) === 0) return { what: el.outerHTML.slice(0, 80), ratio: 0 }
    const rgb = (c) => c.match(/[\\d.]+/g).map(Number)
    const luminance = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 })
      .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0)
    let node = el.parentElement
    let background = 'rgb(255, 255, 255)'
    while (node) {
      const bg = getComputedStyle(node).backgroundColor
      const parts = rgb(bg)
      if (parts.length === 3 || parts[3] > 0) { background = bg; break }
      node = node.parentElement
    }
    const a = luminance(rgb(style.outlineColor))
    const b = luminance(rgb(background))
    return { what: el.outerHTML.slice(0, 80), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) }
  })()`,
}

let browser: Browser
const contexts = new Map<Role, BrowserContext>()
let made: Made

async function signedInContext(role: Role): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, bypassCSP: true })
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  await signIn(page, KEYS[role])
  await page.close()
  return context
}

/** Width and axe's violations; axe is injected past the CSP (the contexts bypass it for this). */
async function check(page: Page) {
  const width = await page.evaluate<number>(IN_BROWSER.width)
  await page.addScriptTag({ content: AXE })
  const violations = await page.evaluate<unknown[]>(IN_BROWSER.axe)
  return { width, violations }
}

beforeAll(async () => {
  browser = await launchChromium()
  // A long name, a long issuer and an unowned certificate: what makes a phone's table wide.
  const uploaded = await upload(gateway(), DEMO_KEYS.bob, {
    ca: false,
    certificates: (await makeCertificate({ cn: 'phone check with a rather long common name' })).pem,
    name: 'phone-payments-edge-certificate-with-a-long-name',
  })
  await unownedCertificate('phone-legacy-unowned', 'phone legacy')
  const parked = await parkedCaDelete('phone-payments-root', 'phone root')
  // lifecycle/expiring (issue 23): one that expires soon, so the expiring page has a row.
  const expiring = await upload(gateway(), DEMO_KEYS.bob, {
    ca: false,
    certificates: (await makeCertificate({ cn: 'phone expiring', validDays: 10 })).pem,
    name: 'phone-payments-expiring-soon-with-a-long-name',
  })
  // Its named successor, not yet serving the service it serves: the row shows why, and when.
  await emulatorControl.associations(expiring.id, [{ service: 'gateway', status: 'active' }])
  const named = await api(
    { name: 'gateway', apiBase: e2e().gatewayUrl },
    DEMO_KEYS.bob,
    `/gateway/v1/accounts/${ACCOUNT}/mtls_certificates/${expiring.id}/successor`,
    { method: 'PUT', body: { successor_id: uploaded.id } },
  )
  expect(named.status).toBe(200)
  const read = await api(gateway(), DEMO_KEYS.bob, certificatesPath(uploaded.id))
  made = {
    certificate: uploaded.id,
    approval: parked.approval,
    requestId: read.headers.get('x-request-id')!,
  }
  for (const role of EVERYONE) contexts.set(role, await signedInContext(role))
}, 90_000)

afterAll(async () => {
  await browser?.close()
})

describe('every console page at 390 px, for every role that may open it', () => {
  const cases = PAGES.flatMap((p) => p.roles.map((role) => [p.name, role, p] as const))

  it.each(cases)('%s as %s: no wider than the screen, no axe violation', async (_n, role, spec) => {
    const page = await contexts.get(role)!.newPage()
    try {
      const response = await page.goto(url(spec.path(made)))
      expect(response!.status()).toBe(spec.status ?? 200)
      const { width, violations } = await check(page)
      expect(width, 'document width at 390 px').toBeLessThanOrEqual(PHONE.width)
      expect(violations).toEqual([])
    } finally {
      await page.close()
    }
  })

  it('the sign-in form, signed out, and refused a wrong key', async () => {
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, bypassCSP: true })
    const page = await context.newPage()
    try {
      await page.goto(url('/console/sign-in'))
      // Focused on its field when it opens.
      expect(await page.evaluate<string>('document.activeElement?.id')).toBe('key')
      let { width, violations } = await check(page)
      expect(width).toBeLessThanOrEqual(PHONE.width)
      expect(violations).toEqual([])
      await page.getByLabel('Gateway key').fill('not a key')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForLoadState()
      const field = page.getByLabel('Gateway key')
      expect(await field.getAttribute('aria-invalid')).toBe('true')
      ;({ width, violations } = await check(page))
      expect(width).toBeLessThanOrEqual(PHONE.width)
      expect(violations).toEqual([])
    } finally {
      await context.close()
    }
  })
})

describe('the keyboard focus ring', () => {
  it.each([
    ['/console/certificates', 'admin'],
    ['/console/approvals', 'lead'],
    ['/console/budgets', 'auditor'],
  ] as const)(
    'on %s (%s) is at least 3 : 1 on every stop, the header included',
    async (p, role) => {
      const page = await contexts.get(role)!.newPage()
      try {
        await page.goto(url(p))
        const stops: { what: string; ratio: number }[] = []
        for (let i = 0; i < 25; i++) {
          await page.keyboard.press('Tab')
          const stop = await page.evaluate<{ what: string; ratio: number } | null>(
            IN_BROWSER.focusContrast,
          )
          if (stop) stops.push(stop)
        }
        expect(stops.length).toBeGreaterThan(5)
        expect(stops.some((s) => s.what.includes('class="brand"'))).toBe(true)
        expect(stops.filter((s) => s.ratio < 3)).toEqual([])
      } finally {
        await page.close()
      }
    },
  )
})
