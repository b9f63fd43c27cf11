/**
 * Issue 20 (console): proposed policy changes. The list shows each proposal's state (pending first,
 * then the latest closed ones); a proposal's page is the review, the second step: its facts, why it
 * needs a second admin, its structural and exhaustive access diff (its base against it), and, while
 * it is pending, approve (which applies it at once, exactly once: the coordinator decides) or
 * reject. Its author is offered no approve button and is told why; a post anyway is refused by the
 * operation (POLICY_SELF_APPROVAL). Proposing stays with the API and the CLI: a whole policy
 * document is no form field. Everything runs control/propose.ts and control/policy-views.ts on the
 * request scope, as the API's handlers do.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { decideChange } from '../control/propose'
import { proposalsOf, proposalView } from '../control/policy-views'
import type { Proposal } from '../control/proposal'
import { GatewayError } from '../lib/errors'
import { UUID } from '../lib/ids'
import { declareAction, settle } from '../pipe'
import { Time } from './format'
import { Notice, TableRegion } from './layout'
import { controlDepsOf } from '../control/handlers'
import { DiffView } from './policy-diff-view'
import { proposalWhatIfPage } from './policy-what-if'
import { RevisionId } from './policy-page'
import { renderPage } from './render'

const LISTED = 50

const STATE: Record<Proposal['status'], { tone: string; words: string }> = {
  pending: { tone: 'warn', words: 'Waiting for a second admin.' },
  applied: { tone: 'good', words: 'Applied: it is (or was) the current revision.' },
  rejected: { tone: 'bad', words: 'Rejected: nothing changed.' },
  stale: {
    tone: 'bad',
    words: 'Stale: the policy changed under it before anyone approved it; propose it again.',
  },
  expired: { tone: 'bad', words: 'Expired before anyone approved it: nothing changed.' },
}

const idOf = (c: Context<AppEnv>) => {
  const id = c.req.param('proposalId') ?? ''
  if (!UUID.test(id)) throw GatewayError.of('POLICY_PROPOSAL_NOT_FOUND')
  return id
}

const StateBadge = (props: { status: Proposal['status'] }) => (
  <span class={`badge ${STATE[props.status].tone}`}>{props.status}</span>
)

async function proposalsList(c: Context<AppEnv>) {
  const deps = controlDepsOf(c)
  const proposals = settle(c, await proposalsOf(deps, { limit: LISTED, reading: LISTED }))
  return renderPage(c, {
    title: 'Policy proposals',
    section: 'policy',
    children: (
      <>
        <p class="lead">
          Changes to the policy: a narrowing one applied when it was proposed, a widening one
          waiting for a second admin. Propose with the API (
          <code>POST /gateway/v1/policy/proposals</code>) or the command line.
        </p>
        <p>
          <a href="/console/policy">Back to the policy</a>
        </p>
        {deps.mode === 'pinned' && (
          <Notice tone="info">
            The policy is pinned (POLICY_MODE=pinned): it changes in git and with a deploy, not
            here.
          </Notice>
        )}
        {proposals.length === 0 ? (
          <p>No proposals yet.</p>
        ) : (
          <TableRegion label="Proposals">
            <table>
              <caption>{`${proposals.length} proposals, newest first`}</caption>
              <thead>
                <tr>
                  <th scope="col">Proposal</th>
                  <th scope="col">State</th>
                  <th scope="col">By, when</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Summary</th>
                </tr>
              </thead>
              <tbody>
                {proposals.map((p) => (
                  <tr>
                    <th scope="row">
                      <a href={`/console/policy/proposals/${p.id}`}>
                        {p.kind === 'rollback' ? 'Rollback' : 'Change'}
                        <span class="visually-hidden">{` by ${p.author}`}</span>
                      </a>
                      <div class="hint">
                        <code>{p.id}</code>
                      </div>
                    </th>
                    <td>
                      <StateBadge status={p.status} />
                      {p.widening.length > 0 && <div class="hint">widening</div>}
                    </td>
                    <td>
                      {p.author}
                      <div>
                        <Time at={p.created_at} />
                      </div>
                    </td>
                    <td class="reason">{p.revision.reason}</td>
                    <td class="hint">{p.summary}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
      </>
    ),
  })
}

const DONE: Record<string, string> = {
  applied:
    'Approved and applied: it is the current revision now, served everywhere within a second.',
  rejected: 'Rejected: nothing changed.',
}

async function proposalPage(c: Context<AppEnv>) {
  const id = idOf(c)
  const { proposal, diff } = settle(c, await proposalView(controlDepsOf(c), id))
  const { memberId } = c.var.scope.principal
  const csrf = c.var.console.csrfToken
  const pending = proposal.status === 'pending'
  const mine = proposal.author === memberId
  const stale = pending && proposal.base !== c.var.config.policyRevision
  const done = DONE[c.req.query('done') ?? '']
  return renderPage(c, {
    title: proposal.kind === 'rollback' ? 'Proposed rollback' : 'Proposed policy change',
    section: 'policy',
    children: (
      <>
        <p>
          <a href="/console/policy/proposals">Back to proposals</a>
        </p>
        {done !== undefined && <Notice tone="good">{done}</Notice>}
        <dl class="facts">
          <dt>State</dt>
          <dd>
            <StateBadge status={proposal.status} /> {STATE[proposal.status].words}
            {proposal.decided_by !== undefined && ` By ${proposal.decided_by}`}
            {proposal.decided_at !== undefined && (
              <>
                {', '}
                <Time at={proposal.decided_at} />
              </>
            )}
          </dd>
          <dt>Proposed by</dt>
          <dd>
            {`${proposal.author}, `}
            <Time at={proposal.created_at} />
          </dd>
          <dt>Why</dt>
          <dd class="reason">{proposal.revision.reason}</dd>
          <dt>On revision</dt>
          <dd>
            <a href={`/console/policy/revisions/${proposal.base}`}>
              <RevisionId id={proposal.base} />
            </a>
            {stale && ' (no longer the current one)'}
          </dd>
          <dt>Would make</dt>
          <dd>
            <code class="id">{proposal.revision.id}</code>
          </dd>
          {pending && (
            <>
              <dt>Waits until</dt>
              <dd>
                <Time at={proposal.expires_at} />
              </dd>
            </>
          )}
          <dt>Summary</dt>
          <dd>{proposal.summary}</dd>
          <dt>What-if</dt>
          <dd>
            <a href={`/console/policy/proposals/${proposal.id}/what-if`}>
              The last 30 days of requests, decided again under it
            </a>
          </dd>
        </dl>
        {pending && (
          <section aria-labelledby="decide-heading">
            <h2 id="decide-heading">Decide</h2>
            {stale ? (
              <Notice tone="bad">
                The policy changed since this was proposed: approving it would undo that change, so
                it cannot be applied. Reject it, and propose it again on the current revision.
              </Notice>
            ) : mine ? (
              <Notice tone="info">
                You proposed this change. It widens access, so a second admin must approve it: you
                cannot approve your own change. You may withdraw it by rejecting it.
              </Notice>
            ) : (
              <form method="post" action={`/console/policy/proposals/${proposal.id}/approve`}>
                <input type="hidden" name="csrf" value={csrf} />
                <p>
                  Approving applies it at once: every request is decided under it within a second.
                  Read the diff below first.
                </p>
                <button type="submit" class="danger">
                  Approve and apply
                </button>
              </form>
            )}
            <form method="post" action={`/console/policy/proposals/${proposal.id}/reject`}>
              <input type="hidden" name="csrf" value={csrf} />
              <button type="submit" class="secondary">
                {mine ? 'Withdraw (reject) it' : 'Reject it'}
              </button>
            </form>
          </section>
        )}
        {diff === null ? (
          <Notice tone="info">
            Its base revision is no longer stored, so its diff cannot be shown. Its summary above
            was kept when it was proposed.
          </Notice>
        ) : (
          <DiffView diff={diff} />
        )}
      </>
    ),
  })
}

function decided(verdict: 'approve' | 'reject') {
  return async (c: Context<AppEnv>) => {
    const id = idOf(c)
    const proposal = settle(c, await decideChange(controlDepsOf(c), { id, verdict }))
    return c.redirect(
      `/console/policy/proposals/${proposal.id}?${new URLSearchParams({ done: proposal.status })}`,
      303,
    )
  }
}

export const proposalPages = new Hono<AppEnv>()
  .get('/console/policy/proposals', declareAction('policy'), proposalsList)
  .get('/console/policy/proposals/:proposalId', declareAction('policy'), proposalPage)
  .get('/console/policy/proposals/:proposalId/what-if', declareAction('policy'), (c) =>
    proposalWhatIfPage(c, idOf(c)),
  )
  .post(
    '/console/policy/proposals/:proposalId/approve',
    declareAction('policy'),
    decided('approve'),
  )
  .post('/console/policy/proposals/:proposalId/reject', declareAction('policy'), decided('reject'))
