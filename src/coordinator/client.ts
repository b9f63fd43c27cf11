/**
 * The Worker's side of the coordinator: the approvals port (approvals/store.ts) implemented over
 * RPC to the account's instance. Each method is one round trip. It fails closed: an instance that
 * cannot be reached (or that throws) is 503 COORDINATOR_UNAVAILABLE, and the operation that asked
 * stops before anything is forwarded. It never retries a claim by itself: a claim that reached
 * the coordinator but whose answer was lost must not run twice.
 */
import { approvalSchema, type Approval, type ApprovalStore } from '../approvals/store'
import { GatewayError } from '../lib/errors'
import type { Coordinator } from './index'
import { accountsOfApproval, newApprovalId } from './shard'

type Instance = DurableObjectStub<Coordinator>

async function reaching<T>(rpc: () => Promise<T>): Promise<T> {
  try {
    return await rpc()
  } catch (error) {
    throw GatewayError.of('COORDINATOR_UNAVAILABLE', { cause: error })
  }
}

const parsed = (approval: unknown): Approval | null => {
  const result = approvalSchema.safeParse(approval)
  return result.success ? result.data : null
}

export function coordinatedApprovals(
  namespace: DurableObjectNamespace<Coordinator>,
  accounts: readonly string[],
): ApprovalStore {
  const instance = (accountId: string): Instance => namespace.get(namespace.idFromName(accountId))

  /**
   * Asks each instance the id may belong to (usually one; none for an id of no policy account)
   * until one holds the approval.
   */
  async function onShard<T extends { approval: unknown }>(
    id: string,
    rpc: (at: Instance) => Promise<T>,
  ): Promise<T | null> {
    for (const account of accountsOfApproval(id, accounts)) {
      const answer = await reaching(async () => rpc(instance(account)))
      if (answer.approval !== null) return answer
    }
    return null
  }

  return {
    newId: newApprovalId,

    async put(approval) {
      await reaching(() => instance(approval.account_id).parkApproval(approval, Date.now()))
    },

    async get(id) {
      const found = await onShard(id, async (at) => ({
        approval: await at.approval(id, Date.now()),
      }))
      return parsed(found?.approval ?? null)
    },

    async claim(id, approver, now) {
      const claim = await onShard(id, (at) => at.claimApproval(id, approver, now.getTime()))
      return { claimed: claim?.claimed ?? false, approval: parsed(claim?.approval ?? null) }
    },

    async release(id, approver) {
      await onShard(id, async (at) => ({
        approval: await at.releaseApproval(id, approver, Date.now()),
      }))
    },

    async close(id, closing, now) {
      await onShard(id, async (at) => ({
        approval: await at.closeApproval(id, closing, now.getTime()),
      }))
    },
  }
}
