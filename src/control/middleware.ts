/**
 * The served policy as Hono middleware (issue 20): right after the configuration is read, the
 * request's `config` becomes the current revision's (control/served-policy.ts), so that
 * authentication, the scope (`scopeFor`) and the audit entry all see one revision.
 */
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env'
import { coordinatedChains, coordinatedRevisions } from '../coordinator/client'
import { recordBootstrap } from './bootstrap-record'
import type { Revision } from './revision'
import { servedConfig, servedKeysVersion, servedUncheckedKeys } from './served-policy'

export const servedPolicy = () =>
  createMiddleware<AppEnv>(async function servedPolicy(c, next) {
    const base = c.var.config
    // control-api: the one request that stores the bootstrap revision puts it on the chain.
    const onBootstrap = async (revision: Revision) => {
      const chains = coordinatedChains(c.env.COORDINATOR, base.audit.retentionDays)
      await recordBootstrap(
        { kv: c.env.AUDIT, settings: base.audit, chains },
        revision,
        c.var.requestId,
      )
    }
    const store = () => coordinatedRevisions(c.env.COORDINATOR)
    c.set('config', await servedConfig(base, store, Date.now, onBootstrap))
    c.set('keysVersion', servedKeysVersion(base)) // issue 20, slice 4
    c.set('uncheckedKeys', servedUncheckedKeys(base)) // issue 20: checked keys
    await next()
  })
