/**
 * The hourly checkpoints job (wrangler.toml `[triggers]`, index.ts `scheduled`): a job, not a
 * request, so it builds its scope as the request pipe does (kernel/scope-for.ts), acting as the
 * gateway's system principal, and runs the review's `recordCheckpoints` on it (review.ts): each
 * chain's head, signed with the gateway's Ed25519 key (checkpoint.ts), kept in the audit
 * namespace for auditors to collect with `GET /gateway/v1/audit/checkpoints`.
 */
import { configFor } from '../config'
import { SYSTEM_PRINCIPAL, scopeFor } from '../kernel/scope-for'
import { uuidv7 } from '../lib/uuidv7'
import { recordCheckpoints } from './review'

/** Answers how many checkpoints were written. */
export function checkpointsJob(env: Env, now: Date): Promise<number> {
  const config = configFor(env)
  const scope = scopeFor({ env, config, principal: SYSTEM_PRINCIPAL, requestId: uuidv7() })
  return recordCheckpoints(scope, now)
}
