/**
 * The frame of every console page: a skip link, the header with the navigation and who is signed
 * in (with the sign-out form), one `main` with the page's `h1`. Rendered on the server with
 * hono/jsx, which escapes every text and attribute value it is given: a certificate called
 * `<script>` is shown as those characters, never run.
 */
import type { Child } from 'hono/jsx'
import { html } from 'hono/html'
import type { Principal } from '../identity/principal'
import { ICON_PATH, STYLESHEET_PATH } from './assets'

export type Section =
  | 'home'
  | 'certificates'
  | 'approvals'
  | 'audit'
  | 'budgets'
  | 'reference'
  // control-console (issue 20): the policy and members pages.
  | 'policy'
  | 'members'
  // lifecycle/expiring (issue 23): the expiring page.
  | 'expiring'

const NAV: { section: Section; href: string; label: string }[] = [
  { section: 'certificates', href: '/console/certificates', label: 'Certificates' },
  { section: 'approvals', href: '/console/approvals', label: 'Approvals' },
  { section: 'audit', href: '/console/audit', label: 'Audit' },
  { section: 'budgets', href: '/console/budgets', label: 'Budgets' },
  { section: 'reference', href: '/console/reference', label: 'API reference' },
  // control-console (issue 20): shown only to the roles render.tsx's sectionsFor lets use them.
  { section: 'policy', href: '/console/policy', label: 'Policy' },
  { section: 'members', href: '/console/members', label: 'Members' },
  // lifecycle/expiring (issue 23): for the roles that may list certificates (render.tsx).
  { section: 'expiring', href: '/console/expiring', label: 'Expiring' },
]

export interface PageProps {
  title: string
  section?: Section
  /** Absent on the sign-in page. */
  signedIn?: {
    principal: Principal
    csrfToken: string
    canSignOut: boolean
    /** Issue 22: the sections the member's role may use; the navigation shows only those. */
    sections?: readonly Section[]
  }
  children?: Child
}

function Header({ section, signedIn }: Pick<PageProps, 'section' | 'signedIn'>) {
  return (
    <header class="top">
      <div class="bar">
        <a class="brand" href="/console">
          mtls-gateway console
        </a>
        {signedIn && (
          <p class="who">
            Signed in as <strong>{signedIn.principal.memberId}</strong> ({signedIn.principal.teamId}
            ; {signedIn.principal.roles.join(', ')}){' '}
            {signedIn.canSignOut && (
              <form method="post" action="/console/sign-out">
                <input type="hidden" name="csrf" value={signedIn.csrfToken} />
                <button type="submit">Sign out</button>
              </form>
            )}
            {/* Behind Access there is no console session: signing out is Access's own page. */}
            {signedIn.principal.via === 'access' && (
              <a href="/cdn-cgi/access/logout">Sign out of Cloudflare Access</a>
            )}
          </p>
        )}
      </div>
      {signedIn && (
        <nav class="main" aria-label="Console">
          <ul>
            {NAV.filter((item) => signedIn.sections?.includes(item.section) ?? true).map((item) => (
              <li>
                <a href={item.href} aria-current={item.section === section ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
    </header>
  )
}

export function page(props: PageProps) {
  return html`<!doctype html>${(
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · mtls-gateway console`}</title>
          <link rel="stylesheet" href={STYLESHEET_PATH} />
          <link rel="icon" href={ICON_PATH} type="image/svg+xml" />
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <Header section={props.section} signedIn={props.signedIn} />
          <main id="main" tabindex={-1}>
            <h1>{props.title}</h1>
            {props.children}
          </main>
        </body>
      </html>
    )}`
}

/** A notice above a page's content: what just happened, or why something did not. */
export function Notice(props: { tone?: 'good' | 'bad' | 'info'; children?: Child }) {
  const tone = props.tone ?? 'info'
  return (
    <div class={`notice ${tone === 'info' ? '' : tone}`} role={tone === 'bad' ? 'alert' : 'status'}>
      {props.children}
    </div>
  )
}

/** A table in a region that scrolls sideways on a phone, reachable and scrollable by keyboard. */
export function TableRegion(props: { label: string; children?: Child }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabindex={0}>
      {props.children}
    </div>
  )
}
