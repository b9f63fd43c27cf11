/**
 * The one Hono environment every router and middleware of the gateway shares. Each variable has
 * one writer: `config` the configuration check, `principal` authentication, `action` the route's
 * declaration, `scope` the request scope (pipe.ts, kernel/scope-for.ts), `findings` the handler
 * settling its operation's outcome, `failure` the error renderer, `console` the console's identity
 * (console/identity.ts), `unrecorded` and `memberFlood` the member's rate (identity/member-rate.ts:
 * a refusal counted instead of recorded, and earlier ones to record as one summary). The audit
 * trail reads them all, once.
 */
import type { RequestIdVariables } from 'hono/request-id'
import type { Action, Findings } from './audit/record'
import type { Config } from './config'
import type { Refusals } from './coordinator/leases'
import type { ConsoleVisit } from './console/visit'
import type { Caller } from './identity/principal'
import type { GatewayError } from './lib/errors'
import type { RequestScope } from './kernel/scope'

export interface AppEnv {
  Bindings: Env
  Variables: RequestIdVariables & {
    startedAt: number
    config: Config
    principal: Caller
    action: Action
    scope: RequestScope
    findings: Findings
    failure: GatewayError
    console: ConsoleVisit
    unrecorded: true
    memberFlood: Refusals
    /** Issue 20, slice 4: the member keys' version the policy refresh saw (control/middleware). */
    keysVersion: number
    /** Issue 20: working member keys without a check value (identity/table-keys.ts). */
    uncheckedKeys: number
  }
}
