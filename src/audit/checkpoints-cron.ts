/**
 * The hourly checkpoints (wrangler.toml `[triggers]`): each chain's head, signed with the
 * gateway's Ed25519 key (checkpoint.ts),
 * stored in the audit namespace (store.ts) for auditors to collect with
 * `GET /gateway/v1/audit/checkpoints` and keep outside Cloudflare. The chains are the policy's
 * accounts and `gateway`; a chain with no entry yet has no checkpoint. A chain whose coordinator
 * cannot be reached is skipped this hour (logged), the others are still written.
 */
import { configFor } from '../config'
import { coordinatedChains } from '../coordinator/client'
import { accountsOf } from '../policy/document'
import { signCheckpoint } from './checkpoint'
import { writeCheckpoint } from './store'

export async function recordCheckpoints(env: Env, now: Date): Promise<number> {
  const config = configFor(env)
  const { attestKey, retentionDays } = config.audit
  const chains = coordinatedChains(env.COORDINATOR, retentionDays)
  const names = [...accountsOf(config.policy), 'gateway']
  let written = 0
  for (const chain of names) {
    try {
      const { head } = await chains.ends(chain)
      if (head === null) continue
      const checkpoint = await signCheckpoint(
        attestKey,
        { chain, seq: head.seq, link: head.link },
        now,
      )
      await writeCheckpoint(env.AUDIT, checkpoint, retentionDays)
      written++
    } catch (error) {
      console.error(`checkpoint of chain ${chain} not written this time:`, String(error))
    }
  }
  return written
}
