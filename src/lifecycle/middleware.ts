/**
 * The team calendar feed's door (issue 23): `GET /calendar/<team>/<token>.ics`, mounted before
 * authentication because calendar apps send no credentials; the token in the URL is the
 * credential (calendar.ts). A wrong token, or a team the policy does not have, is the same 404 as
 * any unknown path, compared in constant time. It reads the team's certificates as the gateway's
 * system principal, from the account's snapshot (a stale one costs the reserve one list,
 * single-flight), each account in one coordinator round trip (account-view.ts), and the audit
 * trail records the request like any other.
 */
import { createMiddleware } from 'hono/factory'
import { timingSafeEqual } from 'hono/utils/buffer'
import type { AppEnv } from '../app-env'
import { SYSTEM_PRINCIPAL, scopeFor } from '../kernel/scope-for'
import { GatewayError } from '../lib/errors'
import { calendarFeed, calendarToken, type CalendarCertificate } from './calendar'
import { readAccountViews } from './account-view'

const PATH = /^\/calendar\/([a-z0-9][a-z0-9._-]{0,62})\/([A-Za-z0-9_-]{43})\.ics$/

export const calendarFeedDoor = () =>
  createMiddleware<AppEnv>(async function calendarFeedDoor(c, next) {
    const match = PATH.exec(new URL(c.req.url).pathname)
    if (match === null || c.req.method !== 'GET') return next()
    const [, team, token] = match as unknown as [string, string, string]
    const { config, requestId } = c.var
    const known = config.policy.teams.find((t) => t.id === team)
    const expected = await calendarToken(config.audit.signingKey, team)
    if (known === undefined || !(await timingSafeEqual(token, expected))) {
      throw GatewayError.of('NO_ROUTE')
    }
    const scope = scopeFor({ env: c.env, config, principal: SYSTEM_PRINCIPAL, requestId })
    const items: CalendarCertificate[] = []
    // One coordinator round trip per account (owners with the snapshot), side by side.
    const views = await readAccountViews(scope, known.accounts)
    for (const [index, accountId] of known.accounts.entries()) {
      const { owners, certificates } = views[index]!
      for (const certificate of certificates) {
        if (owners.get(certificate.id) === team) items.push({ accountId, certificate })
      }
    }
    items.sort((a, b) =>
      (a.certificate.expires_on ?? '').localeCompare(b.certificate.expires_on ?? ''),
    )
    return c.body(calendarFeed(team, items, Date.now()), 200, {
      'content-type': 'text/calendar; charset=utf-8',
      'cache-control': 'private, max-age=300',
    })
  })
