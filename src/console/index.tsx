/**
 * The review console: pages for people, served by the gateway itself, over the same operations,
 * request scope and audit trail as the API. app.ts mounts three parts, in this order:
 *
 *   consoleUnrecorded    (unrecorded.tsx) stylesheet, icon, the empty sign-in form: before the
 *                        audit trail
 *   consolePublic(doc)   the sign-in post (recorded, like every credential presented) and the API
 *                        reference (public, like /openapi.json)
 *   consolePages         behind consoleHeaders(), consoleIdentity() and the request scope:
 *                        everything signed in
 *
 * The console's HTML pages are deliberately not in /openapi.json: they are for browsers, take a
 * session cookie and CSRF-checked forms, and are no API to program against.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { declareAction } from '../pipe'
import { mayAudit } from '../audit/review'
import { listPendingApprovals } from '../approvals/approve'
import { approvalPages } from './approvals-page'
import { auditPages } from './audit-page'
import { budgetsPage } from './budgets-page'
import { certificatePages } from './certificates-page'
import { formSizeLimit, ownFormsOnly } from './csrf'
import { consoleHeaders } from './headers'
import { Notice } from './layout'
import { renderReference, type ApiDocument } from './reference-page'
import { renderConsoleError, renderPage } from './render'
import { signIn, signOut } from './sign-in'
// control-console (issue 20): the policy, its proposals, and members' keys.
import { policyPages } from './policy-page'
import { proposalPages } from './policy-proposals'
import { memberPages } from './members-page'
import { mayChangePolicy } from '../control/policy-views'
// lifecycle/expiring (issue 23): what expires, with notices and acknowledgements.
import { expiringPages } from './expiring-page'

export { consoleHeaders } from './headers'
export { consoleIdentity } from './identity'
export { consoleUnrecorded } from './unrecorded'

export function consolePublic(apiDocument: () => ApiDocument) {
  const router = new Hono<AppEnv>()
    .use('/console/sign-in', consoleHeaders(), formSizeLimit())
    .post('/console/sign-in', declareAction('sign_in'), signIn)
    .use('/console/reference', consoleHeaders())
    .get('/console/reference', (c) => renderReference(c, apiDocument()))
  router.onError(renderConsoleError)
  return router
}

/**
 * Issue 22: what needs the member's attention, from the coordinator alone (no upstream call): the
 * pending approvals they may decide, and their own requests still waiting.
 */
async function attention(c: Context<AppEnv>) {
  const outcome = await listPendingApprovals(c.var.scope, { cursor: null, limit: 50 })
  if (!outcome.ok) return null
  const { memberId, roles } = c.var.scope.principal
  const { approvals, cursor } = outcome.value
  const toDecide = approvals.filter(
    (a) => a.requested_by !== memberId && roles.some((r) => a.roles.includes(r)),
  ).length
  const mine = approvals.filter((a) => a.requested_by === memberId).length
  const more = cursor === null ? '' : ' or more'
  return { toDecide, mine, all: approvals.length, more }
}

async function home(c: Context<AppEnv>) {
  const { principal } = c.var
  const audit = mayAudit(c.var.scope.who)
  const certificates = c.var.scope.who.decide('list', undefined).effect === 'allow'
  const waiting = await attention(c)
  return renderPage(c, {
    title: 'Review console',
    section: 'home',
    children: (
      <>
        <p class="lead">
          {`You are ${principal.memberId} of team ${principal.teamId} (${principal.roles.join(', ')}), signed in ${
            principal.via === 'access' ? 'through Cloudflare Access' : 'with your gateway key'
          }. Every page shows only what the policy lets you see, and every page you open is on the audit record.`}
        </p>
        <h2>Needs your attention</h2>
        {waiting === null ? (
          <p>The approvals cannot be read right now.</p>
        ) : waiting.toDecide + waiting.mine + (audit ? waiting.all : 0) === 0 ? (
          <p>Nothing is waiting for you.</p>
        ) : (
          <ul>
            {waiting.toDecide > 0 && (
              <li>
                <a href="/console/approvals">{`${waiting.toDecide}${waiting.more} delete${waiting.toDecide === 1 ? '' : 's'} waiting for your decision`}</a>
              </li>
            )}
            {waiting.mine > 0 && (
              <li>
                <a href="/console/approvals">{`${waiting.mine}${waiting.more} of your delete requests still waiting`}</a>
              </li>
            )}
            {audit && waiting.toDecide === 0 && waiting.all > 0 && (
              <li>
                <a href="/console/approvals">{`${waiting.all}${waiting.more} delete${waiting.all === 1 ? '' : 's'} waiting for approval (read-only)`}</a>
              </li>
            )}
          </ul>
        )}
        <h2>Pages</h2>
        <ul>
          {certificates && (
            <li>
              <a href="/console/certificates">Certificates</a>: yours, with expiry; admins also see
              and assign unowned ones.
            </li>
          )}
          <li>
            <a href="/console/approvals">Approvals</a>: deletes waiting for a second member.
          </li>
          {audit && (
            <li>
              <a href="/console/audit">Audit</a>: who did what, with filters, exports and a chart.
            </li>
          )}
          <li>
            <a href="/console/reference">API reference</a>: every endpoint, from the OpenAPI
            document.
          </li>
          {/* control-console (issue 20) */}
          {mayChangePolicy(c.var.scope.who) && (
            <li>
              <a href="/console/policy">Policy</a>: the current revision, its history, diffs,
              proposals to review and rollbacks.
            </li>
          )}
          <li>
            <a href="/console/members">Members</a>: your team&apos;s keys, with age, last use and
            expiry.
          </li>
          {/* lifecycle/expiring (issue 23) */}
          {certificates && (
            <li>
              <a href="/console/expiring">Expiring</a>: what expires soon, the notices sent to its
              team, and acknowledging them.
            </li>
          )}
        </ul>
      </>
    ),
  })
}

function notFound(c: Context<AppEnv>) {
  return renderPage(
    c,
    {
      title: 'Not found',
      children: (
        <Notice tone="bad">
          There is no console page at this address. <a href="/console">Back to the console</a>.
        </Notice>
      ),
    },
    404,
  )
}

export const consolePages = new Hono<AppEnv>()
  // consoleHeaders() runs before these, in app.ts, with the console's authentication.
  .use('/console/*', formSizeLimit(), ownFormsOnly())
  .get('/console', declareAction('whoami'), home)
  .post('/console/sign-out', declareAction('sign_out'), signOut)
  .get('/console/budgets', declareAction('whoami'), budgetsPage)
  .route('/', certificatePages)
  .route('/', approvalPages)
  .route('/', auditPages)
  .route('/', policyPages) // control-console (issue 20)
  .route('/', proposalPages) // control-console (issue 20)
  .route('/', memberPages) // control-console (issue 20)
  .route('/', expiringPages) // lifecycle/expiring (issue 23)
  .all('/console/*', notFound)

consolePages.onError(renderConsoleError)
