/**
 * What the console serves before the audit trail (app.ts mounts this first): its stylesheet, its
 * icon and the empty sign-in form. They carry no identity, read nothing and change nothing, and
 * every page load fetches them: recorded, each would be an "unauthenticated" entry spending the
 * flood guard's budget (audit/flood-guard.ts), which exists to keep real attempts on record. The
 * sign-in *post* is recorded, like every request that presents a credential.
 */
import { Hono } from 'hono'
import type { AppEnv } from '../app-env'
import { configFor } from '../config'
import { ICON, ICON_PATH, STYLESHEET, STYLESHEET_PATH } from './assets'
import { consoleHeaders } from './headers'
import { renderConsoleError } from './render'
import { signInForm } from './sign-in'

export const consoleUnrecorded = new Hono<AppEnv>()
  .use('/console/assets/*', consoleHeaders({ cache: 'static' }))
  .get(STYLESHEET_PATH, (c) =>
    c.body(STYLESHEET, 200, { 'content-type': 'text/css; charset=utf-8' }),
  )
  .get(ICON_PATH, (c) => c.body(ICON, 200, { 'content-type': 'image/svg+xml' }))
  .use('/console/sign-in', consoleHeaders())
  .get('/console/sign-in', (c) => {
    const config = configFor(c.env)
    return signInForm(c, config.audit.signingKey, config.access !== undefined)
  })

consoleUnrecorded.onError(renderConsoleError)
