/**
 * Issue 20 (console): the policy as versioned data. `/console/policy` shows the revision this
 * request was served under (its id, author, time, reason and mode) in a readable form, and the
 * history of applied revisions, newest first, each with links to itself and to its diff with the
 * revision it replaced; a form picks any two for `/console/policy/diff`, which shows the
 * structural and the exhaustive access diff. Reading goes through control/policy-views.ts on the
 * request scope, as the API's `GET /gateway/v1/policy` does; only a member allowed `policy` reads.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import type { HistoryRow } from '../coordinator/policy-revisions'
import {
  revisionsDiff,
  mayChangePolicy,
  readRevision,
  revisionHistory,
} from '../control/policy-views'
import { rollBack } from '../control/propose'
import { REVISION_ID, SECRET_AUTHOR, type Revision } from '../control/revision'
import { GatewayError } from '../lib/errors'
import { parsePolicy } from '../policy/document'
import { declareAction, settle } from '../pipe'
import { Time } from './format'
import { Notice, TableRegion } from './layout'
import { DiffView } from './policy-diff-view'
import { PolicyDocumentView } from './policy-document-view'
import { controlDepsOf } from '../control/handlers'
import { formFields } from './csrf'
import { renderPage } from './render'

const HISTORY_PAGE = 50

/** A revision id in a few characters, with the whole id for whoever hovers or copies it. */
export function RevisionId(props: { id: string }) {
  return (
    <code class="id" title={props.id}>
      {props.id.slice(0, 12)}
    </code>
  )
}

const revisionParam = (value: string | undefined, pointer: string): string => {
  if (value === undefined || !REVISION_ID.test(value)) {
    throw GatewayError.of('INVALID_QUERY', {
      message: 'must be a policy revision id (64 lowercase hex digits)',
      pointer,
    })
  }
  return value
}

function beforeParam(c: Context<AppEnv>): number | null {
  const before = c.req.query('before')
  if (before === undefined) return null
  if (!/^[1-9][0-9]{0,15}$/.test(before)) {
    throw GatewayError.of('INVALID_QUERY', {
      message: 'must be a history number',
      pointer: '/before',
    })
  }
  return Number(before)
}

function HistoryTable(props: { rows: HistoryRow[]; current: string }) {
  return (
    <TableRegion label="Revision history">
      <table>
        <caption>Applied revisions, newest first</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Revision</th>
            <th scope="col">Kind</th>
            <th scope="col">By, when</th>
            <th scope="col">Reason</th>
            <th scope="col">Compare</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr>
              <td>{row.seq}</td>
              <th scope="row">
                <a href={`/console/policy/revisions/${row.revision_id}`}>
                  <RevisionId id={row.revision_id} />
                </a>
                {row.revision_id === props.current && <span class="badge good">current</span>}
              </th>
              <td>{row.kind}</td>
              <td>
                {row.author}
                <div>
                  <Time at={row.applied_at} />
                </div>
              </td>
              <td class="reason">{row.reason}</td>
              <td>
                {row.previous_id === null ? (
                  <span class="hint">the first</span>
                ) : (
                  <a
                    href={`/console/policy/diff?${new URLSearchParams({ from: row.previous_id, to: row.revision_id })}`}
                  >
                    Diff with the one before
                    <span class="visually-hidden">{` (revision ${row.seq})`}</span>
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  )
}

/** Two revisions of the history to compare (older first by default). */
function PickTwo(props: { rows: HistoryRow[] }) {
  if (props.rows.length < 2) return null
  const option = (row: HistoryRow, selected: boolean) => (
    <option value={row.revision_id} selected={selected}>
      {`#${row.seq} ${row.revision_id.slice(0, 12)} (${row.author})`}
    </option>
  )
  return (
    <form class="filters" method="get" action="/console/policy/diff">
      <div class="fields">
        <div>
          <label for="diff-from">From (older)</label>
          <select id="diff-from" name="from">
            {props.rows.map((row, i) => option(row, i === 1))}
          </select>
        </div>
        <div>
          <label for="diff-to">To (newer)</label>
          <select id="diff-to" name="to">
            {props.rows.map((row, i) => option(row, i === 0))}
          </select>
        </div>
      </div>
      <div class="actions">
        <button type="submit">Compare</button>
      </div>
    </form>
  )
}

function Meta(props: { id: string; mode: string; revision: Revision | null }) {
  const { revision } = props
  return (
    <dl class="facts">
      <dt>Revision</dt>
      <dd>
        <code class="id">{props.id}</code>
      </dd>
      <dt>Mode</dt>
      <dd>
        {props.mode === 'pinned'
          ? 'pinned: the POLICY secret is the policy; change it in git and deploy'
          : 'managed: changed here and through the API, reviewed when it widens'}
      </dd>
      <dt>Author</dt>
      <dd>{revision?.author ?? SECRET_AUTHOR}</dd>
      <dt>Made</dt>
      <dd>{revision ? <Time at={revision.created_at} /> : 'at deploy time'}</dd>
      <dt>Reason</dt>
      <dd class="reason">{revision?.reason ?? 'the POLICY secret, pinned'}</dd>
      {revision?.parent && (
        <>
          <dt>Replaced</dt>
          <dd>
            <a href={`/console/policy/revisions/${revision.parent}`}>
              <RevisionId id={revision.parent} />
            </a>
          </dd>
        </>
      )}
    </dl>
  )
}

/** A revision's document, parsed for reading, and as written (for the settings). */
function documentOf(text: string) {
  const parsed = parsePolicy(text)
  if (!parsed.ok) throw GatewayError.of('POLICY_UNAVAILABLE')
  return { policy: parsed.policy, written: JSON.parse(text) as Record<string, unknown> }
}

async function policyPage(c: Context<AppEnv>) {
  const deps = controlDepsOf(c)
  const beforeSeq = beforeParam(c)
  const rows = settle(c, await revisionHistory(deps, { limit: HISTORY_PAGE, beforeSeq }))
  const { config } = c.var
  const id = config.policyRevision ?? ''
  const revision = deps.mode === 'managed' ? settle(c, await readRevision(deps, id)) : null
  const text = revision?.document ?? config.policySource.document
  const { policy, written } = documentOf(text)
  const last = rows.at(-1)
  return renderPage(c, {
    title: 'Policy',
    section: 'policy',
    children: (
      <>
        <p class="lead">
          The policy every request is decided under now, and how it came to be. Proposals change it;
          see <a href="/console/policy/proposals">Proposals</a>.
        </p>
        <h2>Current revision</h2>
        <Meta id={id} mode={deps.mode} revision={revision} />
        <h2>History</h2>
        {deps.mode === 'pinned' ? (
          <p>The pinned mode keeps no history here: the policy's history is its git history.</p>
        ) : rows.length === 0 ? (
          <p>No earlier revisions.</p>
        ) : (
          <>
            <PickTwo rows={rows} />
            <HistoryTable rows={rows} current={id} />
            <nav aria-label="History pages" class="actions">
              {beforeSeq !== null && <a href="/console/policy">Newest</a>}
              {rows.length === HISTORY_PAGE && last !== undefined && (
                <a href={`/console/policy?before=${last.seq}`} rel="next">
                  Older revisions
                </a>
              )}
            </nav>
          </>
        )}
        <PolicyDocumentView policy={policy} written={written} />
      </>
    ),
  })
}

async function revisionPage(c: Context<AppEnv>) {
  const id = revisionParam(c.req.param('revisionId'), '/revision')
  const revision = settle(c, await readRevision(controlDepsOf(c), id))
  const { policy, written } = documentOf(revision.document)
  return renderPage(c, {
    title: `Policy revision ${id.slice(0, 12)}`,
    section: 'policy',
    children: (
      <>
        <p>
          <a href="/console/policy">Back to the policy</a>
        </p>
        {id === c.var.config.policyRevision && (
          <Notice tone="info">This is the current revision.</Notice>
        )}
        <Meta id={id} mode="managed" revision={revision} />
        {revision.parent && (
          <p>
            <a
              href={`/console/policy/diff?${new URLSearchParams({ from: revision.parent, to: id })}`}
            >
              What it changed from the revision it replaced
            </a>
          </p>
        )}
        {id !== c.var.config.policyRevision &&
          c.var.config.policySource.mode === 'managed' &&
          mayChangePolicy(c.var.scope.who) && (
            <section aria-labelledby="rollback-heading">
              <h2 id="rollback-heading">Roll back to it</h2>
              <form method="post" action={`/console/policy/revisions/${id}/rollback`}>
                <input type="hidden" name="csrf" value={c.var.console.csrfToken} />
                <input type="hidden" name="base" value={c.var.config.policyRevision ?? ''} />
                <p>
                  Proposes this revision's document again, as a new revision, under the same rules
                  as any change: at once if it narrows access, after a second admin if it widens.
                </p>
                <label for="rollback-reason">Why? (kept with the revision)</label>
                <textarea id="rollback-reason" name="reason" required maxlength={500} rows={2} />
                <button type="submit" class="secondary">
                  Propose the rollback
                </button>
              </form>
            </section>
          )}
        <PolicyDocumentView policy={policy} written={written} />
      </>
    ),
  })
}

/** A rollback proposed from a revision's page; its proposal's page says what became of it. */
async function rollbackPost(c: Context<AppEnv>) {
  const to = revisionParam(c.req.param('revisionId'), '/revision')
  const fields = await formFields(c)
  const base = revisionParam(fields.base, '/base')
  const reason = (fields.reason ?? '').trim()
  if (reason === '' || reason.length > 500) {
    throw GatewayError.of('INVALID_BODY', {
      message: 'Say why you roll back (up to 500 characters): it is kept with the revision',
      pointer: '/reason',
    })
  }
  const report = settle(c, await rollBack(controlDepsOf(c), { to, base, reason }))
  const { proposal } = report
  return c.redirect(`/console/policy/proposals/${proposal.id}`, 303)
}

async function diffPage(c: Context<AppEnv>) {
  const from = revisionParam(c.req.query('from'), '/from')
  const to = revisionParam(c.req.query('to'), '/to')
  const result = settle(c, await revisionsDiff(controlDepsOf(c), { from, to }))
  return renderPage(c, {
    title: 'Policy diff',
    section: 'policy',
    children: (
      <>
        <p>
          <a href="/console/policy">Back to the policy</a>
        </p>
        <dl class="facts">
          <dt>From</dt>
          <dd>
            <a href={`/console/policy/revisions/${from}`}>
              <RevisionId id={from} />
            </a>
            {` by ${result.from.author}, `}
            <Time at={result.from.created_at} />
          </dd>
          <dt>To</dt>
          <dd>
            <a href={`/console/policy/revisions/${to}`}>
              <RevisionId id={to} />
            </a>
            {` by ${result.to.author}, `}
            <Time at={result.to.created_at} />
          </dd>
          <dt>Summary</dt>
          <dd>{result.summary}</dd>
        </dl>
        <DiffView diff={result.diff} />
      </>
    ),
  })
}

export const policyPages = new Hono<AppEnv>()
  .get('/console/policy', declareAction('policy'), policyPage)
  .get('/console/policy/diff', declareAction('policy'), diffPage)
  .get('/console/policy/revisions/:revisionId', declareAction('policy'), revisionPage)
  .post('/console/policy/revisions/:revisionId/rollback', declareAction('policy'), rollbackPost)
