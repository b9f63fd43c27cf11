/**
 * The budgets page: how much of the shared token's budget each team has used over the window, and
 * the breaker (policy/limits.ts, coordinator/budget.ts). A member sees its own team and itself;
 * a member who may read the audit log (account-wide) sees every team, as the log itself shows
 * every team's requests. Read from the token's coordinator, one round trip per team shown; while it
 * cannot be reached the page says so (nothing else depends on it).
 */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import type { BudgetView } from '../coordinator/leases'
import { budgetStanding } from '../upstream/budget-gate'
import { mayAudit } from '../audit/review'
import { Notice, TableRegion } from './layout'
import { renderPage } from './render'

async function standings(c: Context<AppEnv>): Promise<{ team: string; view: BudgetView | null }[]> {
  const { budget, principal } = c.var.scope
  const own = { team: principal.teamId, view: await budgetStanding(budget) }
  if (!mayAudit(c.var.scope.who)) return [own]
  const others = c.var.config.policy.teams
    .map((t) => t.id)
    .filter((team) => team !== principal.teamId)
  const viewOf = async (team: string) => ({
    team,
    view: await budgetStanding({
      ...budget,
      caller: { team, member: '', reserveEligible: false, memberLimit: null },
    }),
  })
  return [own, ...(await Promise.all(others.map(viewOf)))]
}

function TeamRow(props: { team: string; view: BudgetView }) {
  const { share, used, available } = props.view.team
  return (
    <tr>
      <th scope="row">{props.team}</th>
      <td>{share}</td>
      <td>{used}</td>
      <td>{available}</td>
      <td>
        <meter min={0} max={Math.max(share, used, 1)} high={share} value={used}>
          {used} of {share}
        </meter>
      </td>
    </tr>
  )
}

export async function budgetsPage(c: Context<AppEnv>) {
  const rows = await standings(c)
  const first = rows.find((row) => row.view !== null)?.view
  if (!first) {
    return renderPage(
      c,
      {
        title: 'Budgets',
        section: 'budgets',
        children: (
          <Notice tone="bad">
            The coordinator that keeps the budget cannot be reached right now; nothing is being sent
            upstream meanwhile.
          </Notice>
        ),
      },
      503,
    )
  }
  const { token, breaker, window_seconds: window } = first
  const mine = rows[0]!.view
  return renderPage(c, {
    title: 'Budgets',
    section: 'budgets',
    children: (
      <>
        {breaker.open ? (
          <Notice tone="bad">
            Calls to Cloudflare are paused for every team for another {breaker.retry_after_seconds}{' '}
            s: Cloudflare slowed down the shared token, and the gateway waits rather than have it
            locked for everyone. Try again after that.
          </Notice>
        ) : (
          <p class="lead">
            Calls to Cloudflare are flowing: each team may use its share of the shared token below.
          </p>
        )}
        <p>
          Over the last {window} s the gateway has used {token.used} of its cap of {token.cap}{' '}
          requests on the shared token ({token.reserve_used} of the {token.reserve} held for the
          reserve roles). Requests granted to isolates count, used or not.
        </p>
        {mine && (
          <p>
            You have used {mine.member.used}
            {mine.member.limit === null ? '' : ` of your ${mine.member.limit}`} in the window.
          </p>
        )}
        {/* Scrolls inside its own region on a phone, never the page. */}
        <TableRegion label="Each team's use">
          <table>
            <caption>Each team's use of its share in the window</caption>
            <thead>
              <tr>
                <th scope="col">Team</th>
                <th scope="col">Share</th>
                <th scope="col">Used</th>
                <th scope="col">May still use</th>
                <th scope="col">Use</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) =>
                row.view ? (
                  <TeamRow team={row.team} view={row.view} />
                ) : (
                  <tr>
                    <th scope="row">{row.team}</th>
                    <td colspan={4}>not available</td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </TableRegion>
      </>
    ),
  })
}
