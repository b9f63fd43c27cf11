/**
 * A proposal's what-if in the console (issue 20, items 3 and 7): the recorded requests of the last
 * 30 days decided again under the proposed document, per team and action, with sample entries to
 * open, and what could not be replayed. It runs what `GET .../proposals/{id}/what-if` runs
 * (control/propose.ts `proposalWhatIf`), on its own page rather than on the proposal's: a replay
 * reads up to 500 pages of the log's summaries, which a reviewer asks for, not every visit.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { controlDepsOf } from '../control/handlers'
import { proposalWhatIf, WHAT_IF_DAYS } from '../control/propose'
import { settle } from '../pipe'
import { Time } from './format'
import { Notice, TableRegion } from './layout'
import { renderPage } from './render'

export async function proposalWhatIfPage(c: Context<AppEnv>, id: string) {
  const deps = { ...controlDepsOf(c), auditLog: c.var.scope.auditLog }
  const replay = settle(c, await proposalWhatIf(deps, { id }))
  const skipped = replay.not_replayable
  return renderPage(c, {
    title: 'What-if: the last 30 days under the proposal',
    section: 'policy',
    children: (
      <>
        <p>
          <a href={`/console/policy/proposals/${id}`}>Back to the proposal</a>
        </p>
        <p class="lead">
          {`Every request recorded from `}
          <Time at={replay.since} />
          {` to `}
          <Time at={replay.until} />
          {` (the last ${WHAT_IF_DAYS} days), decided again under the proposed policy: ` +
            `${replay.replayed} replayed, ${replay.unchanged} decided the same, ` +
            `${replay.replayed - replay.unchanged} decided otherwise.`}
        </p>
        {!replay.complete && (
          <Notice tone="info">
            {`The window holds more than one replay reads: these are the entries from `}
            {replay.replayed_from === null ? 'the newest' : <Time at={replay.replayed_from} />}
            {` on. The API's since= narrows it.`}
          </Notice>
        )}
        {replay.changes.length === 0 ? (
          <Notice tone="good">No recorded decision would change.</Notice>
        ) : (
          <TableRegion label="Decisions that would change">
            <table>
              <caption>Decisions that would change, per team and action</caption>
              <thead>
                <tr>
                  <th scope="col">Team</th>
                  <th scope="col">Action</th>
                  <th scope="col">Was, would be</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Examples</th>
                </tr>
              </thead>
              <tbody>
                {replay.changes.map((change) => (
                  <tr class={change.to === 'allow' ? 'expiring' : undefined}>
                    <th scope="row">{change.team}</th>
                    <td>{change.action}</td>
                    <td>{`${change.from} → ${change.to}`}</td>
                    <td>{change.count}</td>
                    <td>
                      {change.samples.map((sample) => (
                        <div>
                          <a href={`/console/audit/entries/${sample}`}>
                            <code class="id">{sample}</code>
                          </a>
                        </div>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
        <h2>Not replayed</h2>
        <ul>
          <li>{`${skipped.before_decided_on} recorded before entries kept the time they were decided`}</li>
          <li>{`${skipped.no_decision} that no policy rule decided (refused before: a bad key, a bad request)`}</li>
          <li>{`${skipped.not_a_policy_action} that were not a policy action (sign-in, page views of the console)`}</li>
        </ul>
      </>
    ),
  })
}
