/**
 * The served policy as Hono middleware (issue 20): right after the configuration is read, the
 * request's `config` becomes the current revision's (control/served-policy.ts), so that
 * authentication, the scope (`scopeFor`) and the audit entry all see one revision.
 */
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env'
import { coordinatedRevisions } from '../coordinator/client'
import { servedConfig } from './served-policy'

export const servedPolicy = () =>
  createMiddleware<AppEnv>(async function servedPolicy(c, next) {
    c.set('config', await servedConfig(c.var.config, () => coordinatedRevisions(c.env.COORDINATOR)))
    await next()
  })
