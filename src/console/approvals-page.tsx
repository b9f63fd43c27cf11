/**
 * The approvals page: the parked deletes the signed-in member requested or may approve, with what
 * would be deleted, and an approve button where the policy lets them. Reading and approving are
 * approvals/approve.ts's `getApproval` and `approveDelete` on the request scope, as the API's
 * endpoints run them; which ids to read comes from approvals-found.ts.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { approveDelete, getApproval } from '../approvals/approve'
import type { Approval } from '../approvals/store'
import { getCertificate } from '../certificates/operations'
import { GatewayError } from '../lib/errors'
import { UUID } from '../lib/ids'
import { declareAction, settle } from '../pipe'
import type { MtlsCertificate } from '../upstream/shapes'
import { parkedApprovalIds } from './approvals-found'
import { ExpiryBadge, daysLeft, Time } from './format'
import { Notice, TableRegion } from './layout'
import { renderPage } from './render'

interface Shown {
  approval: Approval
  certificate?: MtlsCertificate
  canApprove: boolean
}

async function concerned(c: Context<AppEnv>): Promise<Shown[]> {
  const { scope } = c.var
  const ids = await parkedApprovalIds(c.env.AUDIT, c.var.config.policy, Date.now())
  const shown: Shown[] = []
  for (const id of ids) {
    const outcome = await getApproval(scope, id)
    if (!outcome.ok) {
      // Not one of theirs (or gone): as for the API, it does not exist for them.
      if (outcome.error instanceof GatewayError && outcome.error.status === 404) continue
      throw outcome.error
    }
    const approval = outcome.value
    const { memberId, roles } = scope.principal
    const canApprove =
      approval.status === 'pending' &&
      approval.requested_by !== memberId &&
      roles.some((role) => approval.roles.includes(role))
    let certificate: MtlsCertificate | undefined
    if (approval.status === 'pending') {
      const cert = await getCertificate(scope, {
        accountId: approval.account_id,
        certificateId: approval.certificate_id,
      })
      if (cert.ok) certificate = cert.value.result
    }
    shown.push({ approval, canApprove, ...(certificate ? { certificate } : {}) })
  }
  return shown
}

function ApprovalRow(props: { shown: Shown; csrf: string; now: number }) {
  const { approval, certificate, canApprove } = props.shown
  const facts = approval.certificate
  return (
    <tr>
      <th scope="row">
        {certificate?.name ? <div>{certificate.name}</div> : null}
        <code>{approval.certificate_id}</code>
        <div class="hint">
          {`${facts.ca ? 'CA' : facts.ca === false ? 'leaf' : 'kind unknown'}, owned by ${facts.owner_team ?? 'nobody'}`}
        </div>
        {certificate && (
          <div class="hint">
            {certificate.issuer} · expires <Time at={certificate.expires_on} />{' '}
            <ExpiryBadge days={daysLeft(certificate.expires_on, props.now)} />
          </div>
        )}
      </th>
      <td>
        {approval.requested_by} <span class="hint">({approval.requested_team})</span>
        <div>
          <Time at={approval.created_at} />
        </div>
      </td>
      <td>
        {approval.roles.join(' or ')}
        <div class="hint">{approval.rule_ids.join(', ')}</div>
      </td>
      <td>
        <span
          class={`badge ${approval.status === 'pending' ? 'warn' : approval.status === 'executed' ? 'good' : 'bad'}`}
        >
          {approval.status}
        </span>
        {approval.approved_by && <div class="hint">{`by ${approval.approved_by}`}</div>}
        <div class="hint">
          {approval.status === 'pending' ? 'until ' : 'expiry '}
          <Time at={approval.expires_at} />
        </div>
      </td>
      <td>
        {canApprove ? (
          <form method="post" action={`/console/approvals/${approval.id}/approve`}>
            <input type="hidden" name="csrf" value={props.csrf} />
            <button type="submit">
              Approve and delete
              {/* The visible words stay the start of the button's name (WCAG 2.5.3). */}
              <span class="visually-hidden">{` ${certificate?.name ?? approval.certificate_id}`}</span>
            </button>
          </form>
        ) : (
          <span class="hint">
            {approval.status === 'pending' ? 'awaiting another member' : 'closed'}
          </span>
        )}
        <div class="hint">
          <code>{approval.id}</code>
        </div>
      </td>
    </tr>
  )
}

async function approvalsList(c: Context<AppEnv>) {
  const shown = await concerned(c)
  const now = Date.now()
  const pending = shown.filter((s) => s.approval.status === 'pending')
  const closed = shown.filter((s) => s.approval.status !== 'pending')
  const approved = c.req.query('approved')
  const table = (label: string, rows: Shown[]) => (
    <TableRegion label={label}>
      <table>
        <thead>
          <tr>
            <th scope="col">Would delete</th>
            <th scope="col">Requested by</th>
            <th scope="col">Approvers</th>
            <th scope="col">Status</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => (
            <ApprovalRow shown={s} csrf={c.var.console.csrfToken} now={now} />
          ))}
        </tbody>
      </table>
    </TableRegion>
  )
  return renderPage(c, {
    title: 'Approvals',
    section: 'approvals',
    children: (
      <>
        {approved && (
          <Notice tone="good">{`Approved: ${c.req.query('deleted') ?? 'the certificate'} is deleted.`}</Notice>
        )}
        <p class="lead">
          Deletes waiting for a second member: the ones you requested and the ones you may approve.
        </p>
        <h2>Waiting</h2>
        {pending.length === 0 ? (
          <p>Nothing is waiting for approval.</p>
        ) : (
          table('Waiting approvals', pending)
        )}
        {closed.length > 0 && (
          <>
            <h2>Recently closed</h2>
            {table('Closed approvals', closed)}
          </>
        )}
      </>
    ),
  })
}

async function approve(c: Context<AppEnv>) {
  const id = c.req.param('approvalId') ?? ''
  if (!UUID.test(id)) throw GatewayError.of('APPROVAL_NOT_FOUND')
  const envelope = settle(c, await approveDelete(c.var.scope, id))
  const query = new URLSearchParams({
    approved: id,
    deleted: envelope.result.name || envelope.result.id,
  })
  return c.redirect(`/console/approvals?${query}`, 303)
}

export const approvalPages = new Hono<AppEnv>()
  .get('/console/approvals', declareAction('approval'), approvalsList)
  .post('/console/approvals/:approvalId/approve', declareAction('approve'), approve)
