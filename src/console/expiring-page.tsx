/**
 * Issue 23 (console): what expires, where people look. The certificates the caller may list (their
 * team's; every team's for account-wide roles), soonest first, with the horizon each stands at,
 * the notices sent (per channel, delivered or not), which horizons were acknowledged, and the
 * successor the team named with its readiness as last checked (ready, or why not, and how long
 * ago: the page itself checks nothing, a check costs association calls). It runs the same
 * operation as `GET /gateway/v1/expiring` (lifecycle/expiring.ts `listExpiring`), so the page
 * shows exactly what the API would.
 *
 * Acknowledge posts a CSRF-protected form (csrf.ts, on every console post) to the operation behind
 * the API's acknowledge (`acknowledgeNotice`): on the audit chain before it is stored, and refused
 * to whoever may not `get` the certificate. The page offers the button only where that operation
 * would allow it: a notice exists at that horizon, not yet acknowledged, and the viewer may `get`.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from '@hono/zod-openapi'
import type { AppEnv } from '../app-env'
import { GatewayError } from '../lib/errors'
import * as ids from '../lib/ids'
import {
  acknowledgeNotice,
  listExpiring,
  type ExpiringCertificate,
  type ExpiringSuccessor,
  type SuccessorReadiness,
} from '../lifecycle/expiring'
import { declareAction, settle } from '../pipe'
import { formFields } from './csrf'
import { ageText, Time } from './format'
import { Notice, TableRegion } from './layout'
import { renderPage } from './render'

/** The windows the page offers; the API takes any `within=Nd`. */
export const WITHIN_PRESETS = [30, 60, 90] as const

const ACKNOWLEDGED = /^(\d{1,3}d|expired) of [0-9a-f-]{32,36}$/

const STATE_TONE: Record<string, string> = { delivered: 'good', pending: 'warn', dead: 'bad' }

const ackForm = z.object({
  account_id: ids.accountId(),
  certificate_id: ids.certificateId(),
  horizon: z.string().regex(/^(\d{1,3}d|expired)$/),
})

function withinOf(c: Context<AppEnv>): number {
  const raw = c.req.query('within') ?? '30'
  const days = Number(raw)
  if (!WITHIN_PRESETS.includes(days as (typeof WITHIN_PRESETS)[number])) {
    throw GatewayError.of('INVALID_QUERY', {
      message: `within must be one of ${WITHIN_PRESETS.join(', ')} (days)`,
      pointer: '/within',
    })
  }
  return days
}

/** The horizons with a notice that nobody acknowledged yet, in the order they were sent. */
function unacknowledged(cert: ExpiringCertificate): string[] {
  const noticed = [...new Set(cert.notices.map((n) => n.horizon))]
  return noticed.filter((h) => !cert.acknowledged.includes(h))
}

function DaysLeft(props: { days: number }) {
  const { days } = props
  if (days < 0) return <span class="badge bad">expired</span>
  return (
    <span
      class={`badge ${days <= 14 ? 'bad' : 'warn'}`}
    >{`${days} day${days === 1 ? '' : 's'}`}</span>
  )
}

const CHECKED_BY: Record<SuccessorReadiness['checked_by'], string> = {
  watch: 'the expiry watch',
  delete: 'a delete',
  named: 'its naming',
}

/** Why the successor is not ready, in words ("not yet in use by 1 of 2 services: api"). */
function notReady(check: SuccessorReadiness, services: number): string {
  switch (check.reason) {
    case 'missing':
      return 'no longer exists'
    case 'expired':
      return `expired${check.expires_on !== undefined ? ` on ${check.expires_on.slice(0, 10)}` : ''}`
    default:
      return `not yet in use by ${check.missing_services.length} of ${services} service${services === 1 ? '' : 's'}: ${check.missing_services.join(', ')}`
  }
}

/** The named successor, with what its last check found and how long ago (no check per view). */
function Successor(props: { successor: ExpiringSuccessor | null }) {
  const { successor } = props
  if (successor === null) return <span class="hint">none named</span>
  const { check } = successor
  return (
    <>
      {successor.name !== undefined ? <div>{successor.name}</div> : null}
      <code>{successor.successor_id}</code>
      <div class="hint">{`named by ${successor.named_by}`}</div>
      {check === null ? (
        <div class="hint">not checked yet</div>
      ) : (
        <div class="successor-check">
          {check.ready ? (
            <span class="badge good">ready</span>
          ) : (
            <>
              <span class="badge bad">not ready</span>
              <div>{notReady(check, successor.services.length)}</div>
            </>
          )}
          <div class="hint">
            {`checked ${ageText(check.age_seconds)} by ${CHECKED_BY[check.checked_by]}`}
          </div>
        </div>
      )}
    </>
  )
}

function Row(props: { cert: ExpiringCertificate; mayAck: boolean; csrf: string }) {
  const { cert, mayAck, csrf } = props
  const pending = unacknowledged(cert)
  const label = cert.name ?? cert.id
  return (
    <tr class={cert.days_left < 0 ? 'expired' : 'expiring'} data-certificate-id={cert.id}>
      <th scope="row">
        <a href={`/console/certificates/${cert.account_id}/${cert.id}`}>{label}</a>
        {cert.name !== undefined && (
          <div class="hint">
            <code>{cert.id}</code>
          </div>
        )}
      </th>
      <td>{cert.team ?? <span class="hint">unowned</span>}</td>
      <td>
        <DaysLeft days={cert.days_left} />
        <div class="hint">
          <Time at={cert.expires_on} />
        </div>
      </td>
      <td>{cert.horizon ?? <span class="hint">none yet</span>}</td>
      <td>
        <Successor successor={cert.successor} />
      </td>
      <td>
        {cert.notices.length === 0 ? (
          <span class="hint">none sent</span>
        ) : (
          <ul>
            {cert.notices.map((n) => (
              <li>
                {`${n.horizon} ${n.kind} to ${n.channel} `}
                <span class={`badge ${STATE_TONE[n.state] ?? 'info'}`}>{n.state}</span>
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>
        {cert.acknowledged.length > 0 && (
          <div>{`acknowledged: ${cert.acknowledged.join(', ')}`}</div>
        )}
        {mayAck &&
          pending.map((horizon) => (
            <form method="post" action="/console/expiring/acknowledge">
              <input type="hidden" name="csrf" value={csrf} />
              <input type="hidden" name="account_id" value={cert.account_id} />
              <input type="hidden" name="certificate_id" value={cert.id} />
              <input type="hidden" name="horizon" value={horizon} />
              <button type="submit">
                {`Acknowledge ${horizon}`}
                <span class="visually-hidden">{` for ${label}`}</span>
              </button>
            </form>
          ))}
        {cert.acknowledged.length === 0 && (!mayAck || pending.length === 0) && (
          <span class="hint">nothing to acknowledge</span>
        )}
      </td>
    </tr>
  )
}

async function expiringList(c: Context<AppEnv>) {
  const within = withinOf(c)
  const { scope } = c.var
  // The successors and their last checks come with the list (the same round trip per account).
  const certs = settle(c, await listExpiring(scope, { withinDays: within }))
  const csrf = c.var.console.csrfToken
  // Echoed only when it is what acknowledge() redirects with: a link cannot put words on the page.
  const done = c.req.query('acknowledged')
  const acknowledged = done !== undefined && ACKNOWLEDGED.test(done) ? done : undefined
  return renderPage(c, {
    title: 'Expiring certificates',
    section: 'expiring',
    children: (
      <>
        {acknowledged !== undefined && (
          <Notice tone="good">{`Acknowledged ${acknowledged}: it is on the audit record, and that notice will not escalate.`}</Notice>
        )}
        <p class="lead">
          Certificates you may see that expire within the window (or have expired), soonest first,
          with the notices sent to their team and what was acknowledged, and the successor named
          with its readiness as last checked. Acknowledging says your team knows: it stops that
          notice&apos;s escalation and is recorded.
        </p>
        <form class="inline-form" method="get" action="/console/expiring">
          <label for="expiring-within">Expiring within</label>
          <select id="expiring-within" name="within">
            {WITHIN_PRESETS.map((days) => (
              <option value={String(days)} selected={days === within}>
                {`${days} days`}
              </option>
            ))}
          </select>
          <button type="submit" class="secondary">
            Show
          </button>
        </form>
        {certs.length === 0 ? (
          <p>{`Nothing you may see expires within ${within} days.`}</p>
        ) : (
          <TableRegion label="Expiring certificates">
            <table>
              <caption>{`${certs.length} certificate${certs.length === 1 ? '' : 's'} expiring within ${within} days`}</caption>
              <thead>
                <tr>
                  <th scope="col">Certificate</th>
                  <th scope="col">Team</th>
                  <th scope="col">Time left</th>
                  <th scope="col">Horizon</th>
                  <th scope="col">Successor</th>
                  <th scope="col">Notices</th>
                  <th scope="col">Acknowledged</th>
                </tr>
              </thead>
              <tbody>
                {certs.map((cert) => (
                  <Row
                    cert={cert}
                    mayAck={scope.who.decide('get', { ownerTeam: cert.team }).effect === 'allow'}
                    csrf={csrf}
                  />
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
      </>
    ),
  })
}

async function acknowledge(c: Context<AppEnv>) {
  const parsed = ackForm.safeParse(await formFields(c))
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw GatewayError.of('INVALID_BODY', {
      message: `${issue.path.join('.') || 'form'}: ${issue.message}`,
      pointer: `/${issue.path.join('/')}`,
    })
  }
  const { account_id: accountId, certificate_id: certificateId, horizon } = parsed.data
  settle(c, await acknowledgeNotice(c.var.scope, { accountId, certificateId, horizon }))
  const query = new URLSearchParams({ acknowledged: `${horizon} of ${certificateId}` })
  return c.redirect(`/console/expiring?${query}`, 303)
}

export const expiringPages = new Hono<AppEnv>()
  .get('/console/expiring', declareAction('expiring'), expiringList)
  .post('/console/expiring/acknowledge', declareAction('acknowledge'), acknowledge)
