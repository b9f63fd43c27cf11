/**
 * Which coordinator instance holds what. An account's state (ledger, intents, quotas, approvals)
 * lives on the instance named by its account id (`idFromName(account_id)`): decided in one place,
 * and accounts never wait on each other. The upstream budget belongs to the token, whatever the
 * account (Cloudflare counts per token), so it lives on the instance named `token:` + the first
 * 16 hex digits of the token's SHA-256: one per token, a rotated token starting a fresh count, and
 * the name never carries the token itself.
 *
 * An approval is addressed by its id alone (`/gateway/v1/approvals/{id}`), so its id carries its
 * shard: its first 8 hex digits are a hash of the account id, the rest of a random UUID v4 (90
 * random bits remain). The account is found again among the policy's accounts; an id whose tag
 * matches none costs no round trip at all. The hash is not a secret: who may see an approval is
 * decided on its record, never on its id.
 */
import { hex } from '../lib/encoding'

/** FNV-1a, 32 bits: cheap and stable; collisions between a policy's accounts are only retried. */
function tagOf(accountId: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < accountId.length; i++) {
    hash ^= accountId.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(16).padStart(8, '0')
}

export function newApprovalId(accountId: string): string {
  return tagOf(accountId) + crypto.randomUUID().slice(8)
}

/** The accounts an approval id may belong to: usually exactly one, none for a foreign id. */
export function accountsOfApproval(approvalId: string, accounts: readonly string[]): string[] {
  const tag = approvalId.slice(0, 8)
  return accounts.filter((account) => tagOf(account) === tag)
}

// Names, never the promise of one: no request awaits a promise another request created (the
// runtime may cancel it as hung). Two requests that miss at once each compute the digest.
const tokenNames = new Map<string, string>()

/** The name of the token's budget instance (memoised: one digest per token per isolate). */
export async function tokenInstanceName(apiToken: string): Promise<string> {
  const known = tokenNames.get(apiToken)
  if (known !== undefined) return known
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(apiToken))
  const name = `token:${hex(digest.slice(0, 8))}`
  tokenNames.set(apiToken, name)
  return name
}

/** A member's rate instance: its own, so that members never wait on each other. */
export const memberRateInstanceName = (memberId: string) => `member:${memberId}`

/** The audit chain an entry belongs to: its account's, or the gateway's own. */
export const auditChainOf = (accountId: string | undefined) => accountId ?? 'gateway'

// Issue 20: the policy's revisions live on the gateway's own instance, one for every account.
export const POLICY_INSTANCE = 'gateway'
