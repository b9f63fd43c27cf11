/**
 * The coordinator as tests see it: its stored approvals read straight from the account's instance
 * (not through the gateway), and bindings that stand for a coordinator that cannot be reached.
 */
import { env, runInDurableObject } from 'cloudflare:test'
import type { Approval } from '../../src/approvals/store'
import { INJECTED } from '../kit/expected-logs'
import { ACCOUNT } from './identities'

export interface StoredApproval {
  id: string
  status: string
  record: Approval
}

const instance = (account: string) => env.COORDINATOR.get(env.COORDINATOR.idFromName(account))

/** Every approval row the account's coordinator holds. */
export function storedApprovals(account = ACCOUNT): Promise<StoredApproval[]> {
  return runInDurableObject(instance(account), (_coordinator, state) =>
    state.storage.sql
      .exec<{ id: string; status: string; record: string }>(
        'SELECT id, status, record FROM approvals',
      )
      .toArray()
      .map((row) => ({ ...row, record: JSON.parse(row.record) as Approval })),
  )
}

/** A COORDINATOR binding whose instances cannot be reached at all. */
export const unreachableCoordinator = {
  idFromName: (name: string) => env.COORDINATOR.idFromName(name),
  get: () => {
    throw new Error(`coordinator unreachable (${INJECTED})`)
  },
} as unknown as Env['COORDINATOR']

/** The real coordinator, except that every claim's round trip fails. */
export const claimsFailCoordinator = {
  idFromName: (name: string) => env.COORDINATOR.idFromName(name),
  get: (id: DurableObjectId) => {
    const real = env.COORDINATOR.get(id)
    return {
      approval: (approvalId: string, nowMs: number) => real.approval(approvalId, nowMs),
      claimApproval: () => Promise.reject(new Error(`claim lost (${INJECTED})`)),
    }
  },
} as unknown as Env['COORDINATOR']
