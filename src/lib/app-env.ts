/** The one Hono environment type every router and middleware of the gateway shares. */
import type { RequestIdVariables } from 'hono/request-id'
import type { Config } from '../config'
import type { Principal } from '../identity/principal'
import type { RequestFacts } from './request-facts'

export interface AppEnv {
  Bindings: Env
  Variables: RequestIdVariables & {
    config: Config
    principal: Principal
    facts: RequestFacts
  }
}
