/**
 * The certificates pages: what the signed-in member may see, per owning team, with expiry and days
 * left (expired and expiring within 30 days stand out), owner, and links to each one's detail
 * (associations) and audit history; unowned ones with an assign form for those the policy lets
 * assign (admins). Everything goes through the operations of certificates/operations.ts and
 * ownership/assign.ts on the request scope, as the API's endpoints do.
 *
 * Associations are on each certificate's own page, not in the list: they are one upstream call per
 * certificate, and every team shares the one token's budget.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import type { Findings } from '../kernel/operation'
import { getCertificate, listAssociations, listCertificates } from '../certificates/operations'
import { GatewayError } from '../lib/errors'
import { ACCOUNT_ID, CERTIFICATE_ID, SLUG } from '../lib/ids'
import { assignOwner } from '../ownership/assign'
import { declareAction, settle } from '../pipe'
import type { MtlsCertificate } from '../upstream/shapes'
import { mayAudit } from '../audit/review'
import { formFields } from './csrf'
import { daysLeft, expiryOf, ExpiryBadge, Time } from './format'
import { Notice, TableRegion } from './layout'
import { ownersOf } from './owners'
import { renderPage } from './render'

const UNOWNED = '(unowned)'

interface Row {
  accountId: string
  cert: MtlsCertificate
  owner: string | undefined
  days: number | undefined
  canAssign: boolean
}

const auditHistory = (id: string) => `/console/audit?certificate=${encodeURIComponent(id)}&from=`
const detailPath = (accountId: string, id: string) => `/console/certificates/${accountId}/${id}`

function teamsFor(c: Context<AppEnv>, accountId: string): string[] {
  return c.var.config.policy.teams.filter((t) => t.accounts.includes(accountId)).map((t) => t.id)
}

function AssignForm(props: { row: Row; teams: string[]; csrf: string }) {
  const { accountId, cert } = props.row
  const id = `assign-${cert.id}`
  return (
    <form method="post" action={`${detailPath(accountId, cert.id)}/owner`} class="inline-form">
      <input type="hidden" name="csrf" value={props.csrf} />
      <div>
        <label for={id}>
          Assign to <span class="visually-hidden">{` ${cert.name ?? cert.id}`}</span>
        </label>
        <select id={id} name="team" required>
          {props.teams.map((team) => (
            <option value={team}>{team}</option>
          ))}
        </select>
      </div>
      <button type="submit">Assign</button>
    </form>
  )
}

function CertificateTable(props: {
  title: string
  rows: Row[]
  audit: boolean
  c: Context<AppEnv>
}) {
  const { c } = props
  return (
    <section aria-labelledby={`team-${props.title}`}>
      <h2 id={`team-${props.title}`}>
        {props.title === UNOWNED ? 'Unowned' : `Team ${props.title}`}
      </h2>
      <TableRegion label={`Certificates: ${props.title}`}>
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Issuer</th>
              <th scope="col">Expires</th>
              <th scope="col">Associations</th>
              <th scope="col">Owner</th>
              {props.audit && <th scope="col">History</th>}
            </tr>
          </thead>
          <tbody>
            {props.rows.map((row) => {
              const kind = expiryOf(row.days)
              const { cert } = row
              return (
                <tr
                  class={kind === 'expired' || kind === 'expiring' ? kind : undefined}
                  data-certificate-id={cert.id}
                >
                  <th scope="row">
                    <a href={detailPath(row.accountId, cert.id)}>
                      {cert.name || <span class="hint">(no name)</span>}
                    </a>
                    <div>
                      <code>{cert.id}</code>
                    </div>
                  </th>
                  <td>{cert.ca === undefined ? 'unknown' : cert.ca ? 'CA' : 'leaf'}</td>
                  <td>{cert.issuer ?? <span class="hint">unknown</span>}</td>
                  <td>
                    <Time at={cert.expires_on} /> <ExpiryBadge days={row.days} />
                  </td>
                  <td>
                    <a href={detailPath(row.accountId, cert.id)}>Show</a>
                  </td>
                  <td>
                    {row.owner ?? <span class="hint">nobody</span>}
                    {row.canAssign && (
                      <AssignForm
                        row={row}
                        teams={teamsFor(c, row.accountId)}
                        csrf={c.var.console.csrfToken}
                      />
                    )}
                  </td>
                  {props.audit && (
                    <td>
                      <a href={auditHistory(cert.id)}>Audit</a>
                    </td>
                  )}
                </tr>
              )
            })}
          </tbody>
        </table>
      </TableRegion>
    </section>
  )
}

function accountsOf(c: Context<AppEnv>): string[] {
  const { policy } = c.var.config
  return policy.teams.find((t) => t.id === c.var.principal.teamId)?.accounts ?? []
}

async function certificateList(c: Context<AppEnv>) {
  const { scope } = c.var
  const now = Date.now()
  const rows: Row[] = []
  for (const accountId of accountsOf(c)) {
    const outcome = await listCertificates(scope, { accountId, types: undefined, filter: {} })
    const envelope = settle(c, outcome)
    const owners = await ownersOf(scope, accountId, outcome.findings as Findings)
    for (const cert of envelope.result) {
      const owner = owners.get(cert.id)
      const facts = { ownerTeam: owner ?? null, ca: cert.ca, expiresOn: cert.expires_on }
      rows.push({
        accountId,
        cert,
        owner,
        days: daysLeft(cert.expires_on, now),
        canAssign: owner === undefined && scope.who.decide('assign', facts).effect === 'allow',
      })
    }
  }
  const own = c.var.principal.teamId
  const groups = new Map<string, Row[]>()
  for (const row of rows) {
    const key = row.owner ?? UNOWNED
    groups.set(key, [...(groups.get(key) ?? []), row])
  }
  const order = [...groups.keys()].sort((a, b) => {
    const rank = (t: string) => (t === own ? 0 : t === UNOWNED ? 2 : 1)
    return rank(a) - rank(b) || a.localeCompare(b)
  })
  const assigned = c.req.query('assigned')
  const expiring = rows.filter((r) => expiryOf(r.days) === 'expiring').length
  const expired = rows.filter((r) => expiryOf(r.days) === 'expired').length
  const audit = mayAudit(c.var.scope.who)
  return renderPage(c, {
    title: 'Certificates',
    section: 'certificates',
    children: (
      <>
        {assigned && (
          <Notice tone="good">{`Assigned ${assigned} to ${c.req.query('team') ?? 'the team'}.`}</Notice>
        )}
        <p class="lead">
          {`${rows.length} certificate${rows.length === 1 ? '' : 's'} you may see`}
          {expired > 0 && `; ${expired} expired`}
          {expiring > 0 && `; ${expiring} expiring within 30 days`}.
        </p>
        {rows.length === 0 && <p>Nothing to show.</p>}
        {order.map((team) => (
          <CertificateTable title={team} rows={groups.get(team)!} audit={audit} c={c} />
        ))}
      </>
    ),
  })
}

function refs(c: Context<AppEnv>) {
  const accountId = c.req.param('accountId') ?? ''
  const certificateId = c.req.param('certificateId') ?? ''
  if (!ACCOUNT_ID.test(accountId))
    throw GatewayError.of('INVALID_ACCOUNT_ID', { pointer: '/account_id' })
  if (!CERTIFICATE_ID.test(certificateId)) {
    throw GatewayError.of('INVALID_CERTIFICATE_ID', { pointer: '/mtls_certificate_id' })
  }
  return { accountId, certificateId }
}

async function certificateDetail(c: Context<AppEnv>) {
  const ref = refs(c)
  const { scope } = c.var
  const cert = settle(c, await getCertificate(scope, ref)).result
  // Shown if the policy allows it; the page's own decision stays the `get` above.
  const associations = await listAssociations(scope, ref)
  const owner = (await ownersOf(scope, ref.accountId, undefined)).get(cert.id)
  const days = daysLeft(cert.expires_on, Date.now())
  return renderPage(c, {
    title: cert.name || cert.id,
    section: 'certificates',
    children: (
      <>
        <p>
          <a href="/console/certificates">All certificates</a>
          {mayAudit(c.var.scope.who) && (
            <>
              {' · '}
              <a href={auditHistory(cert.id)}>Audit history</a>
            </>
          )}
        </p>
        <dl class="facts">
          <dt>Id</dt>
          <dd>
            <code>{cert.id}</code>
          </dd>
          <dt>Name</dt>
          <dd>{cert.name ?? <span class="hint">(no name)</span>}</dd>
          <dt>Kind</dt>
          <dd>{cert.ca ? 'CA' : 'leaf'}</dd>
          <dt>Issuer</dt>
          <dd>{cert.issuer}</dd>
          <dt>Serial number</dt>
          <dd>
            <code>{cert.serial_number}</code>
          </dd>
          <dt>Signature</dt>
          <dd>{cert.signature}</dd>
          <dt>Uploaded</dt>
          <dd>
            <Time at={cert.uploaded_on} />
          </dd>
          <dt>Expires</dt>
          <dd>
            <Time at={cert.expires_on} /> <ExpiryBadge days={days} />
          </dd>
          <dt>Owner</dt>
          <dd>{owner ?? <span class="hint">nobody</span>}</dd>
        </dl>
        <h2>Associations</h2>
        {associations.ok ? (
          associations.value.result.length === 0 ? (
            <p>Not in use by any Cloudflare service.</p>
          ) : (
            <TableRegion label="Associations">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {associations.value.result.map((a) => (
                    <tr>
                      <td>{a.service ?? 'unknown'}</td>
                      <td>{a.status ?? 'unknown'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
          )
        ) : (
          <Notice tone="bad">
            {associations.error instanceof GatewayError
              ? associations.error.errors[0]?.message
              : 'The associations could not be read.'}
          </Notice>
        )}
      </>
    ),
  })
}

async function assign(c: Context<AppEnv>) {
  const ref = refs(c)
  const { team = '' } = await formFields(c)
  if (!SLUG.test(team)) throw GatewayError.of('UNKNOWN_TEAM', { pointer: '/team' })
  const done = settle(c, await assignOwner(c.var.scope, { ...ref, team }))
  const query = new URLSearchParams({ assigned: done.mtls_certificate_id, team: done.team })
  return c.redirect(`/console/certificates?${query}`, 303)
}

export const certificatePages = new Hono<AppEnv>()
  .get('/console/certificates', declareAction('list'), certificateList)
  .get('/console/certificates/:accountId/:certificateId', declareAction('get'), certificateDetail)
  .post('/console/certificates/:accountId/:certificateId/owner', declareAction('assign'), assign)
