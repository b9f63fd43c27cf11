/**
 * The policy's limits on shared, scarce things: each member's requests, the upstream token's
 * request budget and the account's CA certificates. The document says what each team may use; the
 * coordinator counts (coordinator/member-rate.ts, budget.ts, ledger.ts) and the gateway refuses
 * before doing the work.
 *
 *   limits: {
 *     member_requests_per_minute: 120
 *                                every authenticated request of one member, whatever it is
 *                                (whoami, explain, denied, unknown routes, console pages): each
 *                                costs a KV write and a coordinator call, which the upstream
 *                                budget does not count (identity/member-rate.ts)
 *   }
 *   budget: {
 *     upstream_requests: 1200,   Cloudflare's limit per token and window (going over locks the
 *     window_seconds: 300,       token for every team for 5 minutes)
 *     gateway_share: 0.9,        the gateway never uses more than this fraction of it (the cap):
 *                                a margin for clocks, leases and anything else using the token
 *     reserve: { roles: ["admin"], requests: <10% of the cap> },
 *                                held for these roles once their own team's share is used, so an
 *                                admin can act while every team is flooding
 *     teams: { payments: { requests: 300, member_requests: 100 } }
 *                                a team's share of what is left (cap - reserve); teams without
 *                                `requests` split the rest equally. `member_requests` caps each
 *                                member of the team. Unused share is lent (coordinator/budget.ts).
 *   }
 *   quotas: {
 *     account_ca_certificates: 5, Cloudflare's CA certificates per account (1489 past it)
 *     ca_certificates: { payments: 2, identity: 2 }
 *                                per team and account. When present, a team not named gets none,
 *                                and the teams sharing an account may not be promised more than
 *                                the account holds. When absent, only Cloudflare's limit applies.
 *   }
 */
import { z } from '@hono/zod-openapi'
import * as ids from '../lib/ids'

const slug = ids.slug()
const count = (max: number) => z.number().int().min(0).max(max)

export const budgetSchema = z
  .strictObject({
    upstream_requests: count(1_000_000).min(1).default(1200),
    window_seconds: z.number().int().min(10).max(3600).default(300),
    gateway_share: z.number().gt(0).max(1).default(0.9),
    reserve: z
      .strictObject({
        roles: z.array(slug).optional(),
        requests: count(1_000_000).optional(),
      })
      .prefault({}),
    teams: z
      .record(
        slug,
        z.strictObject({
          requests: count(1_000_000).min(1).optional(),
          member_requests: count(1_000_000).min(1).optional(),
        }),
      )
      .default({}),
  })
  .prefault({})

/** A member's requests per minute when the policy does not say (docs/operators.md, "Budget and quotas"). */
export const DEFAULT_MEMBER_REQUESTS_PER_MINUTE = 120
const MEMBER_RATE_PERIOD_MS = 60_000

export const memberLimitsSchema = z
  .strictObject({
    member_requests_per_minute: count(100_000).min(1).default(DEFAULT_MEMBER_REQUESTS_PER_MINUTE),
  })
  .prefault({})

export const quotasSchema = z.strictObject({
  account_ca_certificates: count(1000).default(5),
  ca_certificates: z.record(slug, count(1000)).optional(),
})

/** What the coordinator needs of the budget to grant leases (coordinator/budget.ts). */
export interface BudgetPlan {
  windowMs: number
  /** The most the gateway sends on the token per window. */
  cap: number
  /** Held for the reserve roles. */
  reserve: number
  /** Each team's share of the pool (cap - reserve). */
  shares: Record<string, number>
}

type Budget = z.output<typeof budgetSchema>
type Quotas = z.output<typeof quotasSchema>

export interface TeamBudget {
  share: number
  memberLimit: number | null
}

export interface Limits {
  /** Every authenticated request of one member, per period. */
  memberRate: { limit: number; periodMs: number }
  plan: BudgetPlan
  reserveRoles: ReadonlySet<string>
  team(teamId: string): TeamBudget
  /** The team's CA quota per account, or null when the policy sets none. */
  caQuota(teamId: string): number | null
}

/** Who the reserve is for when the policy does not say. */
const DEFAULT_RESERVE_ROLES = ['admin']

const capOf = (budget: Budget) => Math.floor(budget.upstream_requests * budget.gateway_share)
const reserveOf = (budget: Budget) => budget.reserve.requests ?? Math.floor(capOf(budget) / 10)

/** Each team's share of the pool: its own `requests`, or an equal part of what nobody claimed. */
function sharesOf(budget: Budget, teamIds: readonly string[]): Record<string, number> {
  const pool = capOf(budget) - reserveOf(budget)
  const claimed = teamIds.reduce((sum, id) => sum + (budget.teams[id]?.requests ?? 0), 0)
  const unclaimed = teamIds.filter((id) => budget.teams[id]?.requests === undefined)
  const equal = unclaimed.length === 0 ? 0 : Math.floor((pool - claimed) / unclaimed.length)
  return Object.fromEntries(teamIds.map((id) => [id, budget.teams[id]?.requests ?? equal]))
}

export function limitsOf(policy: {
  teams: readonly { id: string }[]
  limits: z.output<typeof memberLimitsSchema>
  budget: Budget
  quotas?: Quotas | undefined
}): Limits {
  const { budget, quotas } = policy
  const shares = sharesOf(
    budget,
    policy.teams.map((t) => t.id),
  )
  return {
    memberRate: {
      limit: policy.limits.member_requests_per_minute,
      periodMs: MEMBER_RATE_PERIOD_MS,
    },
    plan: {
      windowMs: budget.window_seconds * 1000,
      cap: capOf(budget),
      reserve: reserveOf(budget),
      shares,
    },
    reserveRoles: new Set(budget.reserve.roles ?? DEFAULT_RESERVE_ROLES),
    team: (teamId) => ({
      share: shares[teamId] ?? 0,
      memberLimit: budget.teams[teamId]?.member_requests ?? null,
    }),
    caQuota: (teamId) =>
      quotas?.ca_certificates === undefined ? null : (quotas.ca_certificates[teamId] ?? 0),
  }
}

type Report = (path: (string | number)[], message: string) => void

/** The budget must add up and name real teams and roles; quotas must fit in their accounts. */
export function checkLimits(
  policy: {
    teams: readonly { id: string; accounts: readonly string[] }[]
    members: readonly { roles: readonly string[] }[]
    budget: Budget
    quotas?: Quotas | undefined
  },
  problem: Report,
) {
  const { budget, quotas } = policy
  const teamIds = new Set(policy.teams.map((t) => t.id))
  const roles = new Set(policy.members.flatMap((m) => m.roles))
  const cap = capOf(budget)
  const reserve = reserveOf(budget)
  if (cap < 1) problem(['budget', 'gateway_share'], 'leaves the gateway no request at all')
  if (reserve > cap) {
    problem(['budget', 'reserve', 'requests'], `is more than the gateway's cap (${cap})`)
  }
  // Only roles the policy names: the default role need not exist (the reserve then goes unused).
  budget.reserve.roles?.forEach((role, i) => {
    if (!roles.has(role))
      problem(['budget', 'reserve', 'roles', i], `no member holds role "${role}"`)
  })
  for (const team of Object.keys(budget.teams)) {
    if (!teamIds.has(team)) problem(['budget', 'teams', team], `unknown team "${team}"`)
  }
  const claimed = policy.teams.reduce((sum, t) => sum + (budget.teams[t.id]?.requests ?? 0), 0)
  const unclaimed = policy.teams.filter((t) => budget.teams[t.id]?.requests === undefined)
  const pool = cap - reserve
  if (claimed > pool) {
    problem(
      ['budget', 'teams'],
      `the teams' requests (${claimed}) exceed cap minus reserve (${pool})`,
    )
  } else if (unclaimed.length > 0 && pool - claimed < unclaimed.length) {
    problem(
      ['budget', 'teams'],
      `leaves less than one request per window for ${unclaimed.map((t) => t.id).join(', ')}`,
    )
  }

  const caQuotas = quotas?.ca_certificates
  if (quotas === undefined || caQuotas === undefined) return
  for (const team of Object.keys(caQuotas)) {
    if (!teamIds.has(team)) problem(['quotas', 'ca_certificates', team], `unknown team "${team}"`)
  }
  const promised = new Map<string, number>()
  for (const team of policy.teams) {
    for (const account of team.accounts) {
      promised.set(account, (promised.get(account) ?? 0) + (caQuotas[team.id] ?? 0))
    }
  }
  for (const [account, total] of promised) {
    if (total > quotas.account_ca_certificates) {
      problem(
        ['quotas', 'ca_certificates'],
        `promises ${total} CA certificates in account ${account}, which holds ${quotas.account_ca_certificates}`,
      )
    }
  }
}
