/**
 * The audit pages: the review API's query as a form (filters, newest first, paging), the activity
 * chart, one entry with its signature check, and the two exports. Everything is read by the
 * review operations the review API calls (audit/review.ts) on the request scope's audit log, after
 * the same policy check (`audit` with account-wide scope), so the pages show what
 * `GET /gateway/v1/audit` would. The form is read in audit-form.ts, the entry's facts shown by
 * entry-facts.tsx.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { OUTCOME_CLASSES, type AuditEntry } from '../audit/entry'
import { encodeCursor } from '../audit/query'
import { AUDITED_ACTIONS } from '../audit/record'
import { admitReviewer, entryOf, exportLog, queryLog, type EntryReport } from '../audit/review'
import type { Problem } from '../lib/zod-issues'
import { declareAction, settle } from '../pipe'
import { EntryFacts } from './entry-facts'
import { ActivityChart, bucketize } from './audit-chart'
import {
  consoleView,
  formRefusal,
  formToQuery,
  listQueryOf,
  readAuditForm,
  readExportForm,
} from './audit-form'
import { OutcomeBadge, rowClassOf, Time } from './format'
import { Notice, TableRegion } from './layout'
import { EntrySentence, meaningOf, partiesOf } from './entry-sentence'
import { problemSentence } from './error-copy'
import { renderPage } from './render'

/** Page sizes the form offers; left empty, the review API's default (100) applies. */
const PAGE_SIZES = ['25', '50', '250', '1000']

const link = (path: string, params: Record<string, string | undefined>) => {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value)
  const text = search.toString()
  return text ? `${path}?${text}` : path
}

function Field(props: { name: string; label: string; hint?: string; children: unknown }) {
  return (
    <div>
      <label for={`f-${props.name}`}>
        {props.label} {props.hint && <span class="hint">{props.hint}</span>}
      </label>
      {props.children}
    </div>
  )
}

function Choice(props: {
  name: string
  value: string | undefined
  options: readonly string[]
  any?: string
}) {
  return (
    <select id={`f-${props.name}`} name={props.name}>
      <option value="">{props.any ?? 'any'}</option>
      {props.options.map((option) => (
        <option value={option} selected={option === props.value}>
          {option}
        </option>
      ))}
    </select>
  )
}

/** Issue 22 (review-audit): a choice whose options read as words, sent as the API's values. */
function Labelled(props: { name: string; value: string | undefined; options: [string, string][] }) {
  return (
    <select id={`f-${props.name}`} name={props.name}>
      {props.options.map(([value, label]) => (
        <option value={value} selected={value === props.value}>
          {label}
        </option>
      ))}
    </select>
  )
}

function FilterForm(props: {
  values: Record<string, string>
  teams: string[]
  members: string[]
  /** The default view's range is said above the form, not put in its From field. */
  defaultRange?: boolean
}) {
  const v = props.values
  return (
    <form method="get" action="/console/audit" class="filters" aria-labelledby="filters-heading">
      <h2 id="filters-heading" class="visually-hidden">
        Filters
      </h2>
      <div class="fields">
        <Field name="from" label="From" hint="(UTC; empty: everything kept)">
          <input
            id="f-from"
            name="from"
            type="datetime-local"
            step="1"
            value={props.defaultRange ? '' : (v.from ?? '')}
          />
        </Field>
        <Field name="to" label="To" hint="(UTC; empty: now)">
          <input id="f-to" name="to" type="datetime-local" step="1" value={v.to ?? ''} />
        </Field>
        <Field name="team" label="Team">
          <Choice name="team" value={v.team} options={props.teams} />
        </Field>
        <Field name="member" label="Member">
          <Choice name="member" value={v.member} options={props.members} />
        </Field>
        <Field name="action" label="Action">
          <Choice name="action" value={v.action} options={AUDITED_ACTIONS} />
        </Field>
        <Field name="decision" label="Decision">
          <Choice name="decision" value={v.decision} options={['allow', 'deny', 'none']} />
        </Field>
        <Field name="outcome" label="Outcome">
          <Choice name="outcome" value={v.outcome} options={OUTCOME_CLASSES} />
        </Field>
        <Field name="certificate" label="Certificate id">
          <input
            id="f-certificate"
            name="certificate"
            value={v.certificate ?? ''}
            spellcheck={false}
          />
        </Field>
        {/* Issue 22: find a certificate's entries by the name people know it by. */}
        <Field name="certificate_name" label="Certificate name" hint="(exact)">
          <input
            id="f-certificate_name"
            name="certificate_name"
            value={v.certificate_name ?? ''}
            spellcheck={false}
          />
        </Field>
        <Field name="certificate_name_prefix" label="Name starts with">
          <input
            id="f-certificate_name_prefix"
            name="certificate_name_prefix"
            value={v.certificate_name_prefix ?? ''}
            spellcheck={false}
          />
        </Field>
        <Field name="request_id" label="Request id">
          <input
            id="f-request_id"
            name="request_id"
            value={v.request_id ?? ''}
            spellcheck={false}
          />
        </Field>
        {/* Issue 20: the entries one policy revision decided. */}
        <Field name="policy_revision" label="Policy revision">
          <input
            id="f-policy_revision"
            name="policy_revision"
            value={v.policy_revision ?? ''}
            spellcheck={false}
          />
        </Field>
        {/* Issue 22 (review-audit): changes first; reads and the console's page views on asking. */}
        <Field name="changes_only" label="Show">
          <Labelled
            name="changes_only"
            value={v.changes_only}
            options={[
              ['true', 'Changes only'],
              ['false', 'Changes and reads'],
            ]}
          />
        </Field>
        <Field name="page_views" label="Console page views">
          <Labelled
            name="page_views"
            value={v.page_views}
            options={[
              ['hide', 'Hidden'],
              ['include', 'Included'],
              ['only', 'Only them'],
            ]}
          />
        </Field>
        <Field name="limit" label="Per page">
          <Choice name="limit" value={v.limit} options={PAGE_SIZES} any="100 (default)" />
        </Field>
      </div>
      <div class="actions">
        <button type="submit">Filter</button>
        <a class="button secondary" href="/console/audit">
          Reset
        </a>
      </div>
    </form>
  )
}

function Problems(props: { problems: Problem[] }) {
  return (
    <Notice tone="bad">
      <p>The filters are not valid:</p>
      <ul>
        {props.problems.map((p) => (
          <li>{problemSentence(p)}</li>
        ))}
      </ul>
    </Notice>
  )
}

function EntryRow(props: { entry: AuditEntry; list: Record<string, string> }) {
  const e = props.entry
  return (
    <tr class={rowClassOf(e)}>
      <td>
        <Time at={e.time} />
      </td>
      <td>
        {e.kind === 'suppressed' ? (
          <span class="hint">
            {e.member === undefined
              ? `${e.suppressed?.count ?? 0} anonymous requests (suppressed)`
              : `${e.suppressed?.count ?? 0} requests of ${e.member} (${e.team ?? '?'}) over their rate (suppressed)`}
          </span>
        ) : (
          <>
            {e.member ?? <span class="hint">nobody</span>}
            {e.team && <span class="hint">{` (${e.team}; ${e.via ?? '?'})`}</span>}
            {/* Issue 22 (review-audit): both parties of an approval, in the row. */}
            {e.approval && <div class="hint">{partiesOf(e)}</div>}
          </>
        )}
      </td>
      <td>{e.action ?? <span class="hint">none</span>}</td>
      <td>
        {e.certificate_name && <div>{e.certificate_name}</div>}
        {e.certificate_id && <code>{e.certificate_id}</code>}
      </td>
      <td>
        {e.decision ? (
          <>
            {e.decision.effect} <span class="hint">{e.decision.rule_ids.join(', ')}</span>
          </>
        ) : (
          <span class="hint">none</span>
        )}
      </td>
      <td>
        <OutcomeBadge outcome={e.outcome.class} />{' '}
        <span class="hint">{e.outcome.status ?? ''}</span>
        {/* Issue 22: every code with its meaning. */}
        {e.outcome.error_codes.map((code) => (
          <div class="hint">{`${code}: ${meaningOf(code)}`}</div>
        ))}
      </td>
      <td>
        {e.request_id ? (
          <a
            href={link(`/console/audit/entries/${e.request_id}`, props.list)}
            aria-label={`Entry ${e.request_id}`}
          >
            <code>{e.request_id}</code>
          </a>
        ) : (
          <code>{e.id}</code>
        )}
      </td>
    </tr>
  )
}

const PRESETS = [
  ['Last 24 hours', 86_400_000],
  ['Last 7 days', 7 * 86_400_000],
  ['Last 30 days', 30 * 86_400_000],
] as const

/**
 * Issue 22: the range the page shows, always in words, and presets that set it: a range is never
 * kept without being shown (a week-old delete is one click away, not "No entries"). Each preset
 * keeps every other filter (and drops the page: a new range starts from its newest entry).
 */
function TimeRange(props: {
  range: { from: number; to: number; endsNow: boolean }
  values: Record<string, string>
  defaultRange: boolean
}) {
  const { cursor: _cursor, from: _from, to: _to, ...others } = formToQuery(props.values)
  const now = Date.now()
  const what =
    props.values.changes_only === 'false' ? 'Showing changes and reads' : 'Showing changes only'
  const views = { include: ', console page views included', only: ', console page views only' }
  return (
    <div class="panel range">
      <p>
        {`${what}${views[props.values.page_views as keyof typeof views] ?? ''}, from `}
        <Time at={props.range.from} />
        {' to '}
        {props.range.endsNow ? 'now' : <Time at={props.range.to} />}
        {props.defaultRange ? ' (the last 24 hours: the default view).' : '.'}
      </p>
      <nav aria-label="Time range" class="actions">
        {PRESETS.map(([label, span]) => (
          <a
            class="button secondary"
            href={link('/console/audit', {
              ...others,
              from: new Date(now - span).toISOString().slice(0, 16),
            })}
          >
            {label}
          </a>
        ))}
        <a class="button secondary" href={everythingKept(others)}>
          Everything kept
        </a>
      </nav>
    </div>
  )
}

/** The same filters over everything the log keeps (an empty `from`). */
const everythingKept = (others: Record<string, string>) =>
  `${link('/console/audit', others)}${Object.keys(others).length > 0 ? '&' : '?'}from=`

function filterChoices(c: Context<AppEnv>) {
  const { policy } = c.var.config
  return { teams: policy.teams.map((t) => t.id), members: policy.members.map((m) => m.id) }
}

async function auditList(c: Context<AppEnv>) {
  settle(c, await admitReviewer(c.var.scope))
  const { values, defaultRange } = consoleView(c.req.query(), Date.now())
  const read = readAuditForm(values)
  const choices = filterChoices(c)
  if (!read.ok) {
    c.set('failure', formRefusal(read.problems))
    return renderPage(
      c,
      {
        title: 'Audit log',
        section: 'audit',
        children: (
          <>
            <Problems problems={read.problems} />
            <FilterForm values={values} {...choices} defaultRange={defaultRange} />
          </>
        ),
      },
      400,
    )
  }
  const { query, page, chart } = settle(
    c,
    await queryLog(c.var.scope, read.params, { chart: true }),
  )
  // The same query from its newest entry (no cursor), and for exports also without the page size
  // (an export's own limit defaults to everything, 100,000 entries).
  const { cursor: _cursor, ...newest } = formToQuery(values)
  const { limit: _limit, ...kept } = newest
  const { from: _from, to: _to, ...unranged } = kept
  const next =
    page.cursor && link('/console/audit', { ...newest, cursor: encodeCursor(page.cursor) })
  const exportLink = (format: string) => link('/console/audit/export', { ...kept, format })
  return renderPage(c, {
    title: 'Audit log',
    section: 'audit',
    children: (
      <>
        <p class="lead">
          Every request the gateway answered, newest first. Denied and failed ones are marked.
        </p>
        <TimeRange range={query.range} values={values} defaultRange={defaultRange} />
        <FilterForm values={values} {...choices} defaultRange={defaultRange} />
        <h2 id="activity">Activity</h2>
        {chart ? (
          <ActivityChart
            buckets={bucketize(chart.entries, query.range)}
            range={query.range}
            {...(chart.complete
              ? {}
              : {
                  note: `Counted from the newest ${chart.entries.length} entries of the range only.`,
                })}
          />
        ) : (
          <p class="hint">
            The chart is drawn on the first page.{' '}
            <a href={link('/console/audit', newest)}>Back to the newest</a>.
          </p>
        )}
        <h2 id="entries">Entries</h2>
        <div class="actions">
          <a class="button secondary" href={exportLink('ndjson')} download="audit.ndjson">
            Export NDJSON
          </a>
          <a class="button secondary" href={exportLink('csv')} download="audit.csv">
            Export CSV
          </a>
        </div>
        {page.entries.length === 0 ? (
          <p>
            No entries on this page{page.cursor ? ' (the range continues: see the next page)' : ''}.
            {/* Issue 22 (review-audit): an empty narrow range offers the rest of the log. */}
            {values.from !== '' && values.from !== undefined && (
              <>
                {' '}
                <a href={everythingKept(unranged)}>Search everything kept</a>.
              </>
            )}
          </p>
        ) : (
          <TableRegion label="Audit entries">
            <table>
              <caption>{`${page.entries.length} entries${query.cursor ? ' (a later page)' : ''}`}</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Certificate</th>
                  <th scope="col">Decision</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Request</th>
                </tr>
              </thead>
              <tbody>
                {page.entries.map((entry) => (
                  <EntryRow entry={entry} list={listQueryOf(values)} />
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
        <nav aria-label="Pages" class="actions">
          {query.cursor && <a href={link('/console/audit', newest)}>Newest entries</a>}
          {next && (
            <a href={next} rel="next">
              Next page (older)
            </a>
          )}
        </nav>
      </>
    ),
  })
}

async function auditExport(c: Context<AppEnv>) {
  settle(c, await admitReviewer(c.var.scope))
  const read = readExportForm(c.req.query())
  if (!read.ok) throw formRefusal(read.problems)
  const format = read.params.format
  return c.body(settle(c, await exportLog(c.var.scope, read.params)), 200, {
    'content-type':
      format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="audit.${format}"`,
  })
}

function Integrity(props: { report: EntryReport }) {
  const { problems, pending, chained, found } = props.report
  const e = found.entry
  const chainProblem = chained?.problems[0]
  return (
    <>
      <h2>Integrity</h2>
      {problems.length === 0 ? (
        <Notice tone="good">
          Signature valid: the seal, the signature over its key and metadata and the hash of the
          stored value all hold.
          {pending && ' It is still pending: the outcome of this change was never recorded.'}
        </Notice>
      ) : (
        <Notice tone="bad">
          <p>This entry is not as the gateway wrote it:</p>
          <ul>
            {problems.map((p) => (
              <li>
                <strong>{p.kind}</strong>: {p.detail} <code>{p.key}</code>
              </li>
            ))}
          </ul>
        </Notice>
      )}
      {chained === undefined ? (
        <p class="hint">
          Chain: not chained (the coordinator could not be reached when this entry was written). It
          is signed on its own.
        </p>
      ) : chainProblem === undefined ? (
        <p class="hint">
          Chain: number {e.seq} of {e.chain}, linked to the entry before it as the coordinator
          recorded.
        </p>
      ) : (
        <Notice tone="bad">
          <p>
            Chain: <strong>{chainProblem.kind}</strong>: {chainProblem.detail}
          </p>
        </Notice>
      )}
    </>
  )
}

async function auditEntry(c: Context<AppEnv>) {
  const id = c.req.param('requestId') ?? ''
  const report = settle(c, await entryOf(c.var.scope, id))
  if (report === null) {
    return renderPage(
      c,
      {
        title: 'No such entry',
        section: 'audit',
        children: (
          <Notice tone="bad">
            No audit entry has the request id {id} within the retention period.
          </Notice>
        ),
      },
      404,
    )
  }
  const e = report.found.entry
  // Issue 22 (review-audit): the way back keeps the list's filters and page.
  const list = listQueryOf(c.req.query())
  return renderPage(c, {
    title: 'Audit entry',
    section: 'audit',
    children: (
      <>
        <p>
          <a href={link('/console/audit', list)} rel="up">
            Back to the audit log
          </a>
          {e.certificate_id && (
            <>
              {' · '}
              <a href={link('/console/audit', { certificate: e.certificate_id })}>
                This certificate's history
              </a>
            </>
          )}
        </p>
        {/* Issue 22 (review-audit): the sentence first, the facts, then the integrity below. */}
        <EntrySentence entry={e} />
        <EntryFacts entry={e} />
        <Integrity report={report} />
      </>
    ),
  })
}

export const auditPages = new Hono<AppEnv>()
  .get('/console/audit', declareAction('audit'), auditList)
  .get('/console/audit/export', declareAction('audit'), auditExport)
  .get('/console/audit/entries/:requestId', declareAction('audit'), auditEntry)
