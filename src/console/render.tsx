/**
 * Rendering a console answer: a page in the frame (layout.tsx) for whoever is signed in, and the
 * console's error page. Errors are raised as everywhere else (`GatewayError`) and shown here as
 * HTML with their status and code; the failure is kept for the audit trail, as the API's renderer
 * does (app.ts), so a refused console request is recorded with its codes.
 */
import type { Context } from 'hono'
import type { Child } from 'hono/jsx'
import type { AppEnv } from '../app-env'
import { GatewayError } from '../lib/errors'
import { humanMessage, nextSteps } from './error-copy'
import { Notice, page, type Section } from './layout'
import { mayAudit } from '../audit/review'
import type { Authorizer } from '../policy/enforce'
import { mayChangePolicy } from '../control/policy-views' // control-console (issue 20)

/**
 * Issue 22: the sections a member may use, asked of the policy as their pages ask it: the
 * certificate list (`list`), the audit log (`audit`, account-wide). Approvals, budgets and the
 * reference serve everyone (each shows what concerns the member).
 */
function sectionsFor(who: Authorizer): Section[] {
  const sections: Section[] = ['home', 'approvals', 'budgets', 'reference']
  if (who.decide('list', undefined).effect === 'allow') sections.push('certificates')
  if (mayAudit(who)) sections.push('audit')
  // control-console (issue 20): the policy for whoever may change it; members for everyone
  // (each sees their own team's keys; the page offers only what their role allows).
  if (mayChangePolicy(who)) sections.push('policy')
  sections.push('members')
  // lifecycle/expiring (issue 23): what /expiring shows is what `list` lets the member see.
  if (who.decide('list', undefined).effect === 'allow') sections.push('expiring')
  return sections
}

export function renderPage(
  c: Context<AppEnv>,
  props: { title: string; section?: Section; children?: Child },
  status: 200 | 400 | 401 | 403 | 404 | 409 | 410 | 413 | 500 | 502 | 503 | 504 = 200,
) {
  const visit = c.get('console')
  const scope = c.get('scope')
  const signedIn = visit && {
    principal: visit.principal,
    csrfToken: visit.csrfToken,
    canSignOut: visit.session !== undefined,
    ...(scope !== undefined ? { sections: sectionsFor(scope.who) } : {}),
  }
  return c.html(page({ ...props, ...(signedIn ? { signedIn } : {}) }), status)
}

const TITLES: Record<number, string> = {
  400: 'That request is not valid',
  401: 'Not signed in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Already done',
  410: 'Expired',
  413: 'Too large',
  429: 'Too many requests',
  503: 'Unavailable',
}

export function renderConsoleError(error: Error, c: Context<AppEnv>) {
  const failure =
    error instanceof GatewayError ? error : GatewayError.of('INTERNAL', { cause: error })
  if (failure.status >= 500) {
    console.error(
      `console request ${c.var.requestId ?? '-'} failed: ${failure.message}`,
      failure.cause ?? '',
    )
  }
  c.set('failure', failure)
  // review-console (issue 22): plain words and a next step; the code and request id for help.
  const url = new URL(c.req.url)
  const steps = nextSteps(failure.status, c.req.method, url.pathname, url.search)
  const codes = [...new Set(failure.errors.map((e) => e.code))].join(', ')
  return renderPage(
    c,
    {
      title: TITLES[failure.status] ?? 'Something went wrong',
      children: (
        <>
          <Notice tone="bad">
            {failure.errors.map((e) => (
              <p>{humanMessage(e)}</p>
            ))}
          </Notice>
          <nav aria-label="What next">
            <ul class="next-steps">
              {steps.map((step) => (
                <li>
                  <a href={step.href}>{step.label}</a>
                </li>
              ))}
            </ul>
          </nav>
          <p class="hint">
            {`If you ask for help, give code ${codes}${c.var.requestId ? ` and request ${c.var.requestId}` : ''}.`}
          </p>
        </>
      ),
    },
    failure.status as 400,
  )
}
