/**
 * The approvals page: the pending deletes the signed-in member requested or may approve, with what
 * would be deleted, and an approve button where the policy lets them. Listing, reading and
 * approving are approvals/approve.ts's `listPendingApprovals` and `approveDelete` on the request
 * scope, as the API's `GET /gateway/v1/approvals` and `.../approve` run them.
 *
 * What is shown of each certificate (name, CA or leaf, fingerprint, expiry, issuer when known) is
 * what the approval's record kept when the delete was parked: the page asks the upstream nothing,
 * so a visit costs nobody's budget however many deletes are parked (one GET per row did: 200 rows
 * per visit, charged to the viewer's team). A page holds PAGE_SIZE approvals, oldest first, and
 * links to the next, so every pending approval can be reached.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { approveDelete, listPendingApprovals } from '../approvals/approve'
import { reject, reviewPage, withdraw } from './approval-review'
import { approvalsQuery } from '../approvals/routes'
import type { Approval } from '../approvals/store'
import { GatewayError } from '../lib/errors'
import { UUID } from '../lib/ids'
import { declareAction, settle } from '../pipe'
import { ExpiryBadge, daysLeft, Time } from './format'
import { Notice, TableRegion } from './layout'
import { renderPage } from './render'

const PAGE_SIZE = 50

interface Shown {
  approval: Approval
  canApprove: boolean
}

function ApprovalRow(props: { shown: Shown; now: number; mine: boolean }) {
  const { approval, canApprove } = props.shown
  const facts = approval.certificate
  return (
    <tr>
      <th scope="row">
        {facts.name ? <div>{facts.name}</div> : null}
        <code>{approval.certificate_id}</code>
        <div class="hint">
          {`${facts.ca ? 'CA' : facts.ca === false ? 'leaf' : 'kind unknown'}, owned by ${facts.owner_team ?? 'nobody'}`}
        </div>
        {facts.expires_on !== undefined && (
          <div class="hint">
            {facts.issuer !== undefined ? `${facts.issuer} · ` : ''}expires{' '}
            <Time at={facts.expires_on} />{' '}
            <ExpiryBadge days={daysLeft(facts.expires_on, props.now)} />
          </div>
        )}
        {facts.fingerprint_sha256 !== undefined && (
          <div class="hint">
            SHA-256 <code>{facts.fingerprint_sha256}</code>
          </div>
        )}
      </th>
      <td>
        {approval.requested_by} <span class="hint">({approval.requested_team})</span>
        <div>
          <Time at={approval.created_at} />
        </div>
        {approval.reason !== undefined && <div class="reason">{`“${approval.reason}”`}</div>}
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
        {/* Issue 22: deciding is a second step, on the review page, with the facts of now. */}
        {approval.status === 'pending' ? (
          <a class="button" href={`/console/approvals/${approval.id}`}>
            {canApprove ? 'Review' : props.mine ? 'Details or withdraw' : 'Details'}
            <span class="visually-hidden">{` ${facts.name ?? approval.certificate_id}`}</span>
          </a>
        ) : (
          <span class="hint">closed</span>
        )}
        <div class="hint">
          <code>{approval.id}</code>
        </div>
      </td>
    </tr>
  )
}

async function approvalsList(c: Context<AppEnv>) {
  const query = approvalsQuery.safeParse({ cursor: c.req.query('cursor'), limit: PAGE_SIZE })
  if (!query.success) {
    throw GatewayError.of('INVALID_QUERY', {
      message: 'cursor is not one this gateway gave you',
      pointer: '/cursor',
    })
  }
  const cursor = query.data.cursor ?? null
  const page = settle(c, await listPendingApprovals(c.var.scope, { cursor, limit: PAGE_SIZE }))
  const { memberId, roles } = c.var.scope.principal
  const shown: Shown[] = page.approvals.map((approval) => ({
    approval,
    canApprove: approval.requested_by !== memberId && roles.some((r) => approval.roles.includes(r)),
  }))
  const now = Date.now()
  const approved = c.req.query('approved')
  const closed = c.req.query('closed')
  return renderPage(c, {
    title: 'Approvals',
    section: 'approvals',
    children: (
      <>
        {approved && (
          <Notice tone="good">{`Approved: ${c.req.query('deleted') ?? 'the certificate'} is deleted.`}</Notice>
        )}
        {closed && (
          <Notice tone="good">{`The delete of ${c.req.query('name') ?? 'the certificate'} was ${closed === 'rejected' ? 'rejected' : 'withdrawn'}; nothing was deleted.`}</Notice>
        )}
        <p class="lead">
          Deletes waiting for a second member: the ones you requested and the ones you may approve,
          oldest first.
        </p>
        <h2>Waiting</h2>
        {shown.length === 0 ? (
          <p>{cursor === null ? 'Nothing is waiting for approval.' : 'Nothing more is waiting.'}</p>
        ) : (
          <TableRegion label="Waiting approvals">
            <table>
              <caption>{`${shown.length} waiting${cursor === null ? '' : ' (a later page)'}`}</caption>
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
                {shown.map((s) => (
                  <ApprovalRow
                    shown={s}
                    now={now}
                    mine={s.approval.requested_by === c.var.scope.principal.memberId}
                  />
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
        <nav aria-label="Pages" class="actions">
          {cursor !== null && <a href="/console/approvals">First page</a>}
          {page.cursor !== null && (
            <a
              href={`/console/approvals?${new URLSearchParams({ cursor: page.cursor })}`}
              rel="next"
            >
              Next page (newer)
            </a>
          )}
        </nav>
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
  // Issue 22: the review page (the second step), reject and withdraw.
  .get('/console/approvals/:approvalId', declareAction('approval'), reviewPage)
  .post('/console/approvals/:approvalId/reject', declareAction('reject'), reject)
  .post('/console/approvals/:approvalId/withdraw', declareAction('withdraw'), withdraw)
