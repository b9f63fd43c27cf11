/**
 * The coordinator as tests see it: what the account's instance holds (approvals, owners, intents),
 * read straight from it (not through the gateway); the token's budget instance, reset before each
 * test; and bindings that stand for a coordinator that cannot be reached, wholly or in part.
 */
import { env, runInDurableObject } from 'cloudflare:test'
import type { Approval } from '../../src/approvals/store'
import { opened, type Coordinator } from '../../src/coordinator/index'
import {
  memberRateInstanceName,
  newApprovalId,
  POLICY_INSTANCE,
  tokenInstanceName,
} from '../../src/coordinator/shard'
import { forgetTableKeys } from '../../src/identity/table-keys'
import type { Ownership } from '../../src/ownership/ledger'
import { INJECTED } from '../kit/expected-logs'
import { ACCOUNT, UPSTREAM_TOKEN } from './identities'

export interface StoredApproval {
  id: string
  status: string
  record: Approval
}

const instance = (name: string) => env.COORDINATOR.get(env.COORDINATOR.idFromName(name))

/**
 * Issue 22: `count` pending copies of a parked approval, each for a certificate of its own (a
 * certificate has one open approval), parked straight into the coordinator in order: as if one
 * lead had parked deletes of that many certificates. Their ids, oldest first.
 */
export async function parkCopies(approval: Approval, count: number): Promise<string[]> {
  const stub = instance(approval.account_id)
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const id = newApprovalId(approval.account_id)
    const created_at = new Date(Date.parse(approval.created_at) + 1 + i).toISOString()
    const copy = { ...approval, id, certificate_id: crypto.randomUUID(), created_at }
    await stub.parkApproval(copy, Date.now())
    ids.push(id)
  }
  return ids
}

/** Every approval row the account's coordinator holds. */
export function storedApprovals(account = ACCOUNT): Promise<StoredApproval[]> {
  return runInDurableObject(instance(account), (_coordinator, state) =>
    opened(state, {}, 'approvals').all(),
  )
}

/** The ledger's record of one certificate, or null. */
export async function storedOwner(id: string, account = ACCOUNT): Promise<Ownership | null> {
  return (await instance(account).owner(id)) as Ownership | null
}

/** The account's live upload intents, with their teams. */
export function storedIntents(
  account = ACCOUNT,
): Promise<{ request_id: string; team: string; ca: number }[]> {
  return runInDurableObject(instance(account), (_coordinator, state) =>
    opened(state, {}, 'ledger').liveIntents(Date.now()),
  )
}

/**
 * Forgets the account's owners, intents and transfer requests (the emulator's reset forgets its
 * certificates).
 */
export async function resetLedger(account = ACCOUNT): Promise<void> {
  await runInDurableObject(instance(account), (_coordinator, state) => {
    opened(state, {}, 'ledger').forget()
    opened(state, {}, 'transfers').forget()
  })
}

/**
 * Empties the `gateway` instance's policy store (revisions, their history, proposals) and member
 * keys' table, and forgets this isolate's answers about table keys: a test starts with no revision
 * (its first managed request bootstraps the POLICY secret) and no minted key.
 */
export async function emptyPolicyStore(): Promise<void> {
  forgetTableKeys()
  await runInDurableObject(instance(POLICY_INSTANCE), (_coordinator, state) => {
    opened(state, {}, 'policyRevisions') // migrated, so its tables exist
    opened(state, {}, 'memberKeys')
    for (const table of [
      'policy_history',
      'policy_revisions',
      'policy_proposals',
      'member_keys',
      'member_keys_version',
    ]) {
      state.storage.sql.exec(`DELETE FROM ${table}`)
    }
  })
}

/** The token's budget instance: what it granted (spend), leases, and the breaker. */
export async function budgetInstance() {
  return instance(await tokenInstanceName(UPSTREAM_TOKEN))
}

/** Forgets every grant and closes the breaker: each test starts with the whole budget. */
export async function resetBudget(): Promise<void> {
  await runInDurableObject(await budgetInstance(), (_coordinator, state) => {
    opened(state, {}, 'budget').forget()
  })
}

/** Requests granted to each team in the window, as the coordinator counts them. */
export async function grantedByTeam(): Promise<Record<string, number>> {
  return runInDurableObject(await budgetInstance(), (_coordinator, state) =>
    opened(state, {}, 'budget').grantedByTeam(),
  )
}

/**
 * Grants `team` ten million requests now, through the budget's own lease under a plan without
 * limits: as if the team had spent far more than any policy's budget in this window.
 */
export async function spendTeamBudget(team: string): Promise<void> {
  await runInDurableObject(await budgetInstance(), (_coordinator, state) => {
    const unlimited = { windowMs: 300_000, cap: 1e9, reserve: 0, shares: {} }
    const ask = { team, member: 'someone', reserveEligible: false, memberLimit: null }
    const answer = opened(state, {}, 'budget').lease(
      { ...ask, want: 10_000_000, plan: unlimited },
      Date.now(),
    )
    if (answer.kind !== 'lease' || answer.granted !== 10_000_000) {
      throw new Error(`the budget would not be spent: ${JSON.stringify(answer)}`)
    }
  })
}

/** Forgets what the members' rate instances counted: their minute starts afresh. */
export async function resetMemberRates(members: readonly string[]): Promise<void> {
  for (const member of members) {
    await runInDurableObject(instance(memberRateInstanceName(member)), (_coordinator, state) => {
      opened(state, {}, 'memberRate').forget()
    })
  }
}

/** A COORDINATOR binding whose instances cannot be reached at all. */
export const unreachableCoordinator = {
  idFromName: (name: string) => env.COORDINATOR.idFromName(name),
  get: () => {
    throw new Error(`coordinator unreachable (${INJECTED})`)
  },
} as unknown as Env['COORDINATOR']

/**
 * The real coordinator, each RPC call on any of its stubs handed to `observe` as the method's name
 * and the call itself, to make (or not) as it likes: counting, ordering, failing.
 */
export function coordinatorObserved(
  observe: (method: string, call: () => Promise<unknown>) => Promise<unknown>,
): Env['COORDINATOR'] {
  return {
    idFromName: (name: string) => env.COORDINATOR.idFromName(name),
    get: (id: DurableObjectId) => {
      const real = env.COORDINATOR.get(id)
      return new Proxy(real, {
        get(target, property) {
          const member = Reflect.get(target, property) as unknown
          if (typeof property !== 'string' || typeof member !== 'function') return member
          // Called on the stub itself, as the client calls it (an RPC method is not detachable).
          const stub = target as unknown as Record<string, (...a: unknown[]) => unknown>
          return (...args: unknown[]) =>
            observe(property, () => Promise.resolve(stub[property]!(...args)))
        },
      })
    },
  } as unknown as Env['COORDINATOR']
}

/** The real coordinator, naming each RPC method called on it in `calls`, in order. */
export const coordinatorCounting = (calls: string[]) =>
  coordinatorObserved((method, call) => {
    calls.push(method)
    return call()
  })

/** The real coordinator, except that the named RPC methods fail (the round trip is lost). */
export function coordinatorFailing(...methods: (keyof Coordinator)[]): Env['COORDINATOR'] {
  const failing = new Set<string>(methods)
  return coordinatorObserved((method, call) =>
    failing.has(method) ? Promise.reject(new Error(`${method} lost (${INJECTED})`)) : call(),
  )
}

/** The real coordinator, except that every claim's round trip fails. */
export const claimsFailCoordinator = coordinatorFailing('claimApproval')
