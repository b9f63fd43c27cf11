/**
 * What the browser tests (test/e2e/*.browser.test.ts) share: Debian's Chromium launched headless
 * through playwright-core, axe-core's script to evaluate in a page, signing a page in with a key on
 * the console's form, and the demo data they make through the API before looking at it.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type Page, type Response } from 'playwright-core'
import { expect } from 'vitest'
import { makeCertificate } from './certificates'
import {
  DEMO_KEYS,
  EMULATOR_TOKEN,
  api,
  certificatesPath,
  e2e,
  emulator,
  gateway,
  upload,
} from './context'

export const ROOT = path.resolve(import.meta.dirname, '../../..')
const CHROMIUM = '/usr/bin/chromium'

/** axe-core's script (WCAG checks), evaluated in a page by the tests that check accessibility. */
export const AXE = readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8')

/** A path of the gateway the e2e setup started (global-setup.ts). */
export const url = (p: string) => `${e2e().gatewayUrl}${p}`

/** Chromium, headless; fails with how to install it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`)
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
}

/**
 * Opens `from` (the sign-in form, or a page that answers with it), signs in with `key` and waits
 * for the console's home page, where the form sends a sign-in from either. Answers the response
 * `from` was opened with, for a test that checks it was refused first.
 */
export async function signIn(
  page: Page,
  key: string,
  from = '/console/sign-in',
): Promise<Response> {
  const form = await page.goto(url(from))
  await page.getByLabel('Gateway key').fill(key)
  await Promise.all([
    page.waitForURL(url('/console')),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ])
  return form!
}

/** A CA of payments, uploaded by its lead (bob), whose delete bob then parks for an approval. */
export async function parkedCaDelete(name: string, cn = name) {
  const ca = await upload(gateway(), DEMO_KEYS.bob, {
    ca: true,
    certificates: (await makeCertificate({ ca: true, cn })).pem,
    name,
  })
  const parked = await api<null>(gateway(), DEMO_KEYS.bob, certificatesPath(ca.id), {
    method: 'DELETE',
    headers: { prefer: 'respond-async' },
  })
  expect(parked.status).toBe(202)
  return { id: ca.id, approval: (parked.body.approval as { id: string }).id }
}

/** A certificate put straight into the emulator, past the gateway: one no team owns. */
export async function unownedCertificate(name: string, cn: string): Promise<string> {
  const stored = await api<{ id: string }>(emulator(), EMULATOR_TOKEN, certificatesPath(), {
    body: { ca: false, certificates: (await makeCertificate({ cn })).pem, name },
  })
  return stored.body.result.id
}
