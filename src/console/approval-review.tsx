/**
 * Issue 22: one approval's page, the second step of a decision. It shows what the approver decides
 * on: the certificate (name, CA or leaf, owner, fingerprint, expiry), who asked and why, and the
 * certificate as it is now with its associations, fetched at that moment (approvals/decide.ts
 * `reviewApproval`, as `GET /gateway/v1/approvals/{id}/review` runs it). From here an approver
 * confirms the delete or rejects it with a reason, and the requester withdraws it. A pending
 * approval whose certificate is gone is closed by the review itself, and the page says so.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { rejectApproval, reviewApproval, withdrawApproval } from '../approvals/decide'
import type { Approval } from '../approvals/store'
import { GatewayError } from '../lib/errors'
import { UUID } from '../lib/ids'
import { settle } from '../pipe'
import type { Association } from '../upstream/shapes'
import { formFields } from './csrf'
import { ExpiryBadge, daysLeft, Time } from './format'
import { Notice } from './layout'
import { renderPage } from './render'

const idOf = (c: Context<AppEnv>) => {
  const id = c.req.param('approvalId') ?? ''
  if (!UUID.test(id)) throw GatewayError.of('APPROVAL_NOT_FOUND')
  return id
}

/** What a closed approval's status means, in words. */
const CLOSED: Record<Approval['status'], string> = {
  pending: 'Waiting for a second member.',
  executing: 'Being carried out by an approver now.',
  executed: 'Approved and carried out: the certificate was deleted.',
  failed: 'Approved, but the delete failed upstream; it will not be tried again.',
  expired: 'Expired before anyone approved it; nothing was deleted.',
  withdrawn: 'Withdrawn by the member who asked; nothing was deleted.',
  rejected: 'Rejected; nothing was deleted.',
  gone: 'Closed: the certificate no longer exists (deleted some other way); nothing was deleted here.',
}

function Facts(props: { approval: Approval; now: number }) {
  const { approval } = props
  const facts = approval.certificate
  return (
    <dl class="facts">
      <dt>Certificate</dt>
      <dd>
        {facts.name ? <strong>{facts.name}</strong> : <span class="hint">no name</span>}{' '}
        <code class="id">{approval.certificate_id}</code>
      </dd>
      <dt>Kind</dt>
      <dd>{facts.ca ? 'CA certificate' : facts.ca === false ? 'Leaf certificate' : 'unknown'}</dd>
      <dt>Owner</dt>
      <dd>{facts.owner_team ?? 'no team'}</dd>
      {facts.expires_on !== undefined && (
        <>
          <dt>Expires</dt>
          <dd>
            <Time at={facts.expires_on} />{' '}
            <ExpiryBadge days={daysLeft(facts.expires_on, props.now)} />
          </dd>
        </>
      )}
      {facts.fingerprint_sha256 !== undefined && (
        <>
          <dt>SHA-256</dt>
          <dd>
            <code class="id">{facts.fingerprint_sha256}</code>
          </dd>
        </>
      )}
      <dt>Asked by</dt>
      <dd>
        {`${approval.requested_by} (${approval.requested_team}), `}
        <Time at={approval.created_at} />
      </dd>
      <dt>Why</dt>
      <dd>{approval.reason ?? <span class="hint">no reason given</span>}</dd>
      <dt>Who may approve</dt>
      <dd>{`a member with role ${approval.roles.join(' or ')} (rule ${approval.rule_ids.join(', ')})`}</dd>
      <dt>Status</dt>
      <dd>
        {CLOSED[approval.status]}
        {approval.approved_by && ` Approved by ${approval.approved_by}.`}
        {approval.closed_by && approval.status !== 'gone' && ` By ${approval.closed_by}.`}
        {approval.close_reason && ` Reason: “${approval.close_reason}”.`}
      </dd>
    </dl>
  )
}

function InUse(props: { associations: Association[] }) {
  if (props.associations.length === 0) {
    return <p>No Cloudflare service uses it now (checked just now).</p>
  }
  return (
    <Notice tone="bad">
      <p>It is in use now, so it cannot be deleted until these are removed:</p>
      <ul>
        {props.associations.map((a) => (
          <li>{`${a.service ?? 'unknown service'} (${a.status ?? 'status unknown'})`}</li>
        ))}
      </ul>
    </Notice>
  )
}

export async function reviewPage(c: Context<AppEnv>) {
  const id = idOf(c)
  const { approval, current } = settle(c, await reviewApproval(c.var.scope, id))
  const { memberId, roles } = c.var.scope.principal
  const csrf = c.var.console.csrfToken
  const pending = approval.status === 'pending' && current !== null
  const mine = approval.requested_by === memberId
  const mayDecide = pending && !mine && roles.some((r) => approval.roles.includes(r))
  const name = approval.certificate.name ?? approval.certificate_id
  return renderPage(c, {
    title: `Delete of ${name}`,
    section: 'approvals',
    children: (
      <>
        <p>
          <a href="/console/approvals">Back to approvals</a>
        </p>
        <Facts approval={approval} now={Date.now()} />
        {approval.status === 'gone' && (
          <Notice tone="info">
            The certificate no longer exists, so this approval is closed. Nothing to do.
          </Notice>
        )}
        {current !== null && (
          <section aria-labelledby="now-heading">
            <h2 id="now-heading">The certificate now</h2>
            <p>{`Owner now: ${current.owner_team ?? 'no team'}.`}</p>
            <InUse associations={current.associations} />
          </section>
        )}
        {mayDecide && (
          <section aria-labelledby="decide-heading">
            <h2 id="decide-heading">Decide</h2>
            <form method="post" action={`/console/approvals/${approval.id}/approve`}>
              <input type="hidden" name="csrf" value={csrf} />
              <p>{`This deletes ${name} from Cloudflare at once. It cannot be undone.`}</p>
              <button type="submit" class="danger">
                {`Delete ${name}`}
              </button>
            </form>
            <form method="post" action={`/console/approvals/${approval.id}/reject`}>
              <input type="hidden" name="csrf" value={csrf} />
              <label for="reject-reason">Or reject it: why? (the requester sees this)</label>
              <textarea id="reject-reason" name="reason" required maxlength={500} rows={2} />
              <button type="submit" class="secondary">
                Reject
              </button>
            </form>
          </section>
        )}
        {pending && mine && (
          <section aria-labelledby="withdraw-heading">
            <h2 id="withdraw-heading">Your request</h2>
            <form method="post" action={`/console/approvals/${approval.id}/withdraw`}>
              <input type="hidden" name="csrf" value={csrf} />
              <label for="withdraw-reason">Why withdraw? (optional, for the record)</label>
              <textarea id="withdraw-reason" name="reason" maxlength={500} rows={2} />
              <button type="submit" class="secondary">
                Withdraw the request
              </button>
            </form>
          </section>
        )}
      </>
    ),
  })
}

const closedNotice = (approval: Approval, closed: 'rejected' | 'withdrawn') =>
  `/console/approvals?${new URLSearchParams({
    closed,
    name: approval.certificate.name ?? approval.certificate_id,
  })}`

export async function reject(c: Context<AppEnv>) {
  const id = idOf(c)
  const reason = ((await formFields(c)).reason ?? '').trim()
  if (reason === '' || reason.length > 500) {
    throw GatewayError.of('INVALID_BODY', {
      message: 'Say why you reject it (up to 500 characters): the requester will read it',
      pointer: '/reason',
    })
  }
  const done = settle(c, await rejectApproval(c.var.scope, id, reason))
  return c.redirect(closedNotice(done, 'rejected'), 303)
}

export async function withdraw(c: Context<AppEnv>) {
  const id = idOf(c)
  const reason = ((await formFields(c)).reason ?? '').trim().slice(0, 500)
  const done = settle(c, await withdrawApproval(c.var.scope, id, reason || undefined))
  return c.redirect(closedNotice(done, 'withdrawn'), 303)
}
