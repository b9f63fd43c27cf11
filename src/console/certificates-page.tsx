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
import { mayAudit } from '../audit/review'
import { formFields } from './csrf'
import { daysLeft, expiryOf, ExpiryBadge, Time } from './format'
import { Notice, TableRegion } from './layout'
import {
  countsByTeam,
  inventoryCsv,
  inventoryQuery,
  querySearch,
  select,
  SORTS,
  UNOWNED_TEAM,
  type InventoryQuery,
  type InventoryRow,
  type Sort,
  type TeamCount,
} from './inventory'
import { ownersOf } from './owners'
import { renderPage } from './render'

interface Row extends InventoryRow {
  canAssign: boolean
}

const auditHistory = (id: string) => `/console/audit?certificate=${encodeURIComponent(id)}&from=`
const detailPath = (accountId: string, id: string) => `/console/certificates/${accountId}/${id}`
const LIST_PATH = '/console/certificates'
const CSV_PATH = '/console/certificates.csv'

function teamsFor(c: Context<AppEnv>, accountId: string): string[] {
  return c.var.config.policy.teams.filter((t) => t.accounts.includes(accountId)).map((t) => t.id)
}

const teamLabel = (team: string) => (team === UNOWNED_TEAM ? 'Unowned' : team)

function AssignForm(props: { row: Row; teams: string[]; csrf: string }) {
  const { accountId, id: certificateId, name } = props.row
  const id = `assign-${certificateId}`
  return (
    <form
      method="post"
      action={`${detailPath(accountId, certificateId)}/owner`}
      class="inline-form"
    >
      <input type="hidden" name="csrf" value={props.csrf} />
      <div>
        <label for={id}>
          Assign to <span class="visually-hidden">{` ${name ?? certificateId}`}</span>
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

const SORT_LABELS: Record<Sort, string> = { expiry: 'Expires', name: 'Name', team: 'Team' }

/** A column heading that sorts by its column, saying which one the list is sorted by. */
function SortHeading(props: { sort: Sort; query: InventoryQuery }) {
  const current = props.query.sort === props.sort
  return (
    <th scope="col" aria-sort={current ? 'ascending' : undefined}>
      {current ? (
        SORT_LABELS[props.sort]
      ) : (
        <a href={`${LIST_PATH}${querySearch(props.query, { sort: props.sort })}`}>
          {SORT_LABELS[props.sort]}
          <span class="visually-hidden"> (sort by this)</span>
        </a>
      )}
      {current && <span class="hint"> ▲</span>}
    </th>
  )
}

function CertificateTable(props: {
  rows: Row[]
  query: InventoryQuery
  audit: boolean
  c: Context<AppEnv>
}) {
  const { c, query } = props
  return (
    <TableRegion label="Certificates">
      <table>
        <thead>
          <tr>
            {/* Expiry second: what the list is about stays on a phone's screen. */}
            <SortHeading sort="name" query={query} />
            <SortHeading sort="expiry" query={query} />
            <SortHeading sort="team" query={query} />
            <th scope="col">Kind</th>
            <th scope="col">Issuer</th>
            {props.audit && <th scope="col">History</th>}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => {
            const kind = expiryOf(row.days)
            return (
              <tr
                class={kind === 'expired' || kind === 'expiring' ? kind : undefined}
                data-certificate-id={row.id}
              >
                <th scope="row">
                  <a href={detailPath(row.accountId, row.id)}>
                    {row.name || <span class="hint">(no name)</span>}
                  </a>
                  <div>
                    <code>{row.id}</code>
                  </div>
                </th>
                <td>
                  <Time at={row.expiresOn} /> <ExpiryBadge days={row.days} />
                </td>
                <td>
                  {row.team ?? <span class="hint">nobody</span>}
                  {row.canAssign && (
                    <AssignForm
                      row={row}
                      teams={teamsFor(c, row.accountId)}
                      csrf={c.var.console.csrfToken}
                    />
                  )}
                </td>
                <td>{row.ca === undefined ? 'unknown' : row.ca ? 'CA' : 'leaf'}</td>
                <td>{row.issuer ?? <span class="hint">unknown</span>}</td>
                {props.audit && (
                  <td>
                    <a href={auditHistory(row.id)}>
                      Audit
                      <span class="visually-hidden">{` history of ${row.name ?? row.id}`}</span>
                    </a>
                  </td>
                )}
              </tr>
            )
          })}
        </tbody>
      </table>
    </TableRegion>
  )
}

/** Per team: how many, expiring within 30 days, expired; each team a link to its filter. */
function TeamCounts(props: { counts: TeamCount[]; query: InventoryQuery }) {
  return (
    <TableRegion label="Expiry per team">
      <table>
        <caption>Expiry per team</caption>
        <thead>
          <tr>
            <th scope="col">Team</th>
            <th scope="col">Total</th>
            <th scope="col">Within 30 days</th>
            <th scope="col">Expired</th>
          </tr>
        </thead>
        <tbody>
          {props.counts.map((count) => (
            <tr data-team={count.team}>
              <th scope="row">
                <a href={`${LIST_PATH}${querySearch(props.query, { team: count.team })}`}>
                  {teamLabel(count.team)}
                </a>
              </th>
              <td>{count.total}</td>
              <td>
                {count.expiring > 0 ? (
                  <span class="badge warn">{count.expiring}</span>
                ) : (
                  count.expiring
                )}
              </td>
              <td>
                {count.expired > 0 ? <span class="badge bad">{count.expired}</span> : count.expired}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  )
}

/** The filters as a GET form: the URL keeps them, for the back button, a link, and the CSV. */
function Filters(props: { query: InventoryQuery; teams: string[] }) {
  const { query } = props
  return (
    <form method="get" action={LIST_PATH} class="filters" role="search" aria-label="Certificates">
      <div class="fields">
        <div>
          <label for="q">Name contains</label>
          <input id="q" name="q" type="search" value={query.q ?? ''} maxlength={200} />
        </div>
        <div>
          <label for="team">Team</label>
          <select id="team" name="team">
            <option value="" selected={query.team === undefined}>
              Every team
            </option>
            {props.teams.map((team) => (
              <option value={team} selected={query.team === team}>
                {teamLabel(team)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="sort">Sort by</label>
          <select id="sort" name="sort">
            {SORTS.map((sort) => (
              <option value={sort} selected={query.sort === sort}>
                {sort === 'expiry' ? 'Expiry, soonest first' : SORT_LABELS[sort]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div class="actions">
        <button type="submit">Show</button>
        <a href={LIST_PATH}>Clear the filters</a>
        <a
          class="button secondary"
          href={`${CSV_PATH}${querySearch(query)}`}
          download="certificates.csv"
        >
          Download CSV<span class="visually-hidden"> of this list</span>
        </a>
      </div>
    </form>
  )
}

function accountsOf(c: Context<AppEnv>): string[] {
  const { policy } = c.var.config
  return policy.teams.find((t) => t.id === c.var.principal.teamId)?.accounts ?? []
}

/** Every certificate the member may see, as listCertificates decides, with its owner. */
async function inventory(c: Context<AppEnv>): Promise<Row[]> {
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
        id: cert.id,
        name: cert.name || undefined,
        team: owner,
        ca: cert.ca,
        issuer: cert.issuer,
        expiresOn: cert.expires_on,
        days: daysLeft(cert.expires_on, now),
        canAssign: owner === undefined && scope.who.decide('assign', facts).effect === 'allow',
      })
    }
  }
  return rows
}

const queryOf = (c: Context<AppEnv>) =>
  inventoryQuery({ team: c.req.query('team'), q: c.req.query('q'), sort: c.req.query('sort') })

async function certificateList(c: Context<AppEnv>) {
  const rows = await inventory(c)
  const query = queryOf(c)
  const shown = select(rows, query) as Row[]
  const counts = countsByTeam(rows)
  const assigned = c.req.query('assigned')
  const expiring = rows.filter((r) => expiryOf(r.days) === 'expiring').length
  const expired = rows.filter((r) => expiryOf(r.days) === 'expired').length
  const audit = mayAudit(c.var.scope.who)
  // Read-only: the member changes nothing here (an auditor): said, so no control is looked for.
  const readOnly =
    rows.every((r) => !r.canAssign) &&
    c.var.scope.who.decide('upload', undefined).effect !== 'allow' &&
    c.var.scope.who.decide('delete', undefined).effect !== 'allow'
  const filtered = query.team !== undefined || query.q !== undefined
  return renderPage(c, {
    title: 'Certificates',
    section: 'certificates',
    children: (
      <>
        {assigned && (
          <Notice tone="good">{`Assigned ${assigned} to ${c.req.query('to') ?? 'the team'}.`}</Notice>
        )}
        <p class="lead">
          {`${rows.length} certificate${rows.length === 1 ? '' : 's'} you may see`}
          {expired > 0 && `; ${expired} expired`}
          {expiring > 0 && `; ${expiring} expiring within 30 days`}.
          {readOnly && ' Read-only: your role sees them and changes none.'}
        </p>
        {rows.length === 0 ? (
          <p>Nothing to show: no certificate of your accounts is yours to see.</p>
        ) : (
          <>
            <TeamCounts counts={counts} query={query} />
            <h2>The list</h2>
            <Filters query={query} teams={counts.map((count) => count.team)} />
            <p>
              {filtered
                ? `${shown.length} of ${rows.length} match.`
                : `All ${rows.length}, sorted by ${query.sort === 'expiry' ? 'expiry, soonest first' : SORT_LABELS[query.sort].toLowerCase()}.`}
            </p>
            {shown.length === 0 ? (
              <p>
                No certificate matches. <a href={LIST_PATH}>Show them all</a>.
              </p>
            ) : (
              <CertificateTable rows={shown} query={query} audit={audit} c={c} />
            )}
          </>
        )}
      </>
    ),
  })
}

/** The list as CSV, with the page's filters and order (the link on the page carries them). */
async function certificateCsv(c: Context<AppEnv>) {
  const rows = select(await inventory(c), queryOf(c))
  c.header('content-disposition', 'attachment; filename="certificates.csv"')
  return c.body(inventoryCsv(rows), 200, { 'content-type': 'text/csv; charset=utf-8' })
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
        ) : associations.error instanceof GatewayError && associations.error.status === 403 ? (
          // A read-only role (the auditor) sees the certificate, not what uses it: not a failure.
          <p class="hint">Your role does not see which services use a certificate.</p>
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
  const query = new URLSearchParams({ assigned: done.mtls_certificate_id, to: done.team })
  return c.redirect(`/console/certificates?${query}`, 303)
}

export const certificatePages = new Hono<AppEnv>()
  .get('/console/certificates', declareAction('list'), certificateList)
  .get('/console/certificates.csv', declareAction('list'), certificateCsv)
  .get('/console/certificates/:accountId/:certificateId', declareAction('get'), certificateDetail)
  .post('/console/certificates/:accountId/:certificateId/owner', declareAction('assign'), assign)
