/**
 * The policy document: teams, their members and (later) the rules that say who may do what.
 *
 * It is parsed and checked once per isolate (see `config.ts`) and by `npm run policy:check`. A
 * document with any problem is rejected as a whole, with a JSON pointer per problem, and the gateway
 * then refuses every request (fails closed). It never holds a key, only a key's SHA-256.
 *
 * Shape (version 1):
 *   { version: 1, demo?: boolean,
 *     teams:   [{ id, description?, accounts: [account_id, ...] }],
 *     members: [{ id, team, roles: [...], key_sha256?, access_email?, access_common_name?,
 *                 expires_at?, revoked? }],
 *     rules:   [{ id, description, effect, actions, subjects?, conditions?, mode?, approval? }],
 *     limits?: each member's requests per minute, budget?: the upstream token's budget,
 *     quotas?: CA certificates per team (limits.ts) }
 * The rule language and its semantics are in `rules.ts`; the decision is `decide.ts`.
 */
import { z } from '@hono/zod-openapi'
import { foldAscii } from '../lib/encoding'
import * as ids from '../lib/ids'
import { problemsOf, type Problem } from '../lib/zod-issues'
import { budgetSchema, checkLimits, memberLimitsSchema, quotasSchema } from './limits'
import { ruleSchema } from './rules'

const slug = ids.slug()

// Issue 21: the account snapshot's settings (docs/operators.md, "The snapshot").
const snapshotSchema = z
  .strictObject({
    /** Refresh at most this often while there are readers; 0 turns the snapshot off. */
    max_age_seconds: z.number().int().min(0).max(60).default(30),
    /** How old a snapshot may be and still be served while the upstream fails. */
    max_stale_seconds: z.number().int().min(0).max(86_400).default(3600),
  })
  .prefault({})
const accountId = ids.accountId()

const teamSchema = z.strictObject({
  id: slug,
  description: z.string().max(500).optional(),
  accounts: z.array(accountId).min(1),
})

const memberSchema = z.strictObject({
  id: slug,
  team: slug,
  roles: z.array(slug).min(1),
  key_sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be the lowercase hex SHA-256 of the key')
    .optional(),
  // Cloudflare Access identities (identity/access.ts): a person's `email` claim, compared
  // case-insensitively, or a service token's `common_name` claim (its Client ID), compared exactly.
  access_email: z.email('must be an email address').max(254).optional(),
  access_common_name: z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'must be the service token Client ID (no spaces)')
    .optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  revoked: z.boolean().default(false),
})

// Issue 23 (lifecycle): expiry notices and rotation pairing. Channels are named here by id only;
// their URLs and signing secrets live in the LIFECYCLE_CHANNELS secret (lifecycle/channels.ts),
// so this 5 KB document never carries them.
export const DEFAULT_HORIZON_DAYS = [60, 30, 14, 7, 1] as const
const channelIds = z.array(slug).max(8).default([])
const horizonDays = z
  .array(z.number().int().min(1).max(365))
  .min(1)
  .max(10)
  .transform((days) => [...new Set(days)].sort((a, b) => b - a))
const rotationSchema = z
  .strictObject({
    gate: z.enum(['refuse', 'approval']).default('refuse'),
    approver_roles: z.array(slug).min(1).max(8).default(['admin']),
    ttl_minutes: z.number().int().min(5).max(10_080).default(1440),
  })
  .prefault({})
export const lifecycleSchema = z
  .strictObject({
    /** Days before expiry at which a team is told (and, on expiry, once more). */
    horizons_days: horizonDays.default([...DEFAULT_HORIZON_DAYS]),
    /** Told when a team's own escalation passed with nothing done, and about unowned drift. */
    platform_channels: channelIds,
    teams: z
      .record(
        slug,
        z.strictObject({
          horizons_days: horizonDays.optional(),
          channels: channelIds,
          escalation_channels: channelIds,
        }),
      )
      .default({}),
    /**
     * A delete refused because the named successor is not ready: `refuse` (409/18391), or
     * `approval`: parked for a member holding one of `approver_roles` (approvals/park.ts).
     */
    rotation: rotationSchema,
    /**
     * The first retry of a failed notice waits this long, each next one 4 times longer
     * (coordinator/notices.ts `backoffMs`): 60 s in production; a test or a demo shortens it.
     */
    retry_base_seconds: z.number().int().min(1).max(3600).default(60),
  })
  .default({
    horizons_days: [...DEFAULT_HORIZON_DAYS],
    platform_channels: [],
    teams: {},
    rotation: { gate: 'refuse', approver_roles: ['admin'], ttl_minutes: 1440 },
    retry_base_seconds: 60,
  })
export type LifecycleSettings = z.output<typeof lifecycleSchema>
// End of issue 23's block.

// Issue 20, slice 4: members and keys without a deploy (control/members.ts). A member holding one
// of `lead_roles` manages the keys of their own team's members; a key lives `key_days` unless
// its minter asks for less or more (at most a year).
export const membersSettingsSchema = z
  .strictObject({
    lead_roles: z.array(slug).min(1).default(['lead']),
    key_days: z.number().int().min(1).max(365).default(90),
  })
  .prefault({})
export type MembersSettings = z.output<typeof membersSettingsSchema>

const policyShape = z.strictObject({
  version: z.literal(1),
  demo: z.boolean().default(false),
  teams: z.array(teamSchema).min(1),
  members: z.array(memberSchema),
  rules: z.array(ruleSchema).default([]),
  limits: memberLimitsSchema,
  budget: budgetSchema,
  quotas: quotasSchema.optional(),
  // Issue 21: the account snapshot's freshness (src/snapshot/); 0 s = reads go upstream as before.
  snapshot: snapshotSchema,
  lifecycle: lifecycleSchema, // issue 23
  member_keys: membersSettingsSchema, // issue 20, slice 4
})

const policySchema = policyShape.superRefine((policy, ctx) => {
  const problem: Report = (path, message) => ctx.addIssue({ code: 'custom', path, message })
  const { teamIds, memberIds } = checkTeamsAndMembers(policy, problem)
  checkRules(policy, { teamIds, memberIds }, problem)
  checkLimits(policy, problem)
})

export type Policy = z.infer<typeof policySchema>
export type Member = Policy['members'][number]
export type Team = Policy['teams'][number]

/** Every account the policy names, once each (memoised per parsed policy). */
const accounts = new WeakMap<Policy, string[]>()
export function accountsOf(policy: Policy): string[] {
  let known = accounts.get(policy)
  if (known === undefined) {
    known = [...new Set(policy.teams.flatMap((team) => team.accounts))]
    accounts.set(policy, known)
  }
  return known
}

export type PolicyParse = { ok: true; policy: Policy } | { ok: false; problems: Problem[] }

export function parsePolicy(text: string): PolicyParse {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return {
      ok: false,
      problems: [{ pointer: '', message: `not valid JSON: ${(error as Error).message}` }],
    }
  }
  const result = policySchema.safeParse(json)
  return result.success
    ? { ok: true, policy: result.data }
    : { ok: false, problems: problemsOf(result.error) }
}

type Report = (path: (string | number)[], message: string) => void
type Parsed = Pick<z.output<typeof policyShape>, 'teams' | 'members' | 'rules'>

/** Reports every value seen before (after `normalise`) at its own path; returns all values. */
function unique<T>(
  problem: Report,
  items: readonly T[],
  value: (item: T) => string | undefined,
  path: (index: number) => (string | number)[],
  message: (value: string) => string,
  normalise: (value: string) => string = (v) => v,
): Set<string> {
  const seen = new Set<string>()
  items.forEach((item, i) => {
    const raw = value(item)
    if (raw === undefined) return
    const key = normalise(raw)
    if (seen.has(key)) problem(path(i), message(raw))
    seen.add(key)
  })
  return seen
}

/** Ids, key hashes and Access identities are unique; every member is in a team and can sign in. */
function checkTeamsAndMembers(policy: Parsed, problem: Report) {
  const teamIds = unique(
    problem,
    policy.teams,
    (t) => t.id,
    (i) => ['teams', i, 'id'],
    (v) => `duplicate team id "${v}"`,
  )
  const memberIds = unique(
    problem,
    policy.members,
    (m) => m.id,
    (i) => ['members', i, 'id'],
    (v) => `duplicate member id "${v}"`,
  )
  unique(
    problem,
    policy.members,
    (m) => m.key_sha256,
    (i) => ['members', i, 'key_sha256'],
    () => 'this key hash is already used by another member',
  )
  unique(
    problem,
    policy.members,
    (m) => m.access_email,
    (i) => ['members', i, 'access_email'],
    () => 'this Access email is already used by another member',
    foldAscii,
  )
  unique(
    problem,
    policy.members,
    (m) => m.access_common_name,
    (i) => ['members', i, 'access_common_name'],
    () => 'this Access common name is already used by another member',
  )
  policy.members.forEach((member, i) => {
    if (!teamIds.has(member.team)) problem(['members', i, 'team'], `unknown team "${member.team}"`)
    if (
      member.key_sha256 === undefined &&
      member.access_email === undefined &&
      member.access_common_name === undefined
    ) {
      problem(['members', i], 'a member needs key_sha256, access_email or access_common_name')
    }
  })
  return { teamIds, memberIds }
}

/**
 * Rules may only name teams, members and roles that exist, and an approval must be grantable by
 * somebody: a typo here would silently make a rule match nobody.
 */
function checkRules(
  policy: Parsed,
  known: { teamIds: Set<string>; memberIds: Set<string> },
  problem: Report,
) {
  /** Reports every name in `names` that is not in `known`, at its index under `path`. */
  const mustExist = (
    names: readonly string[] | undefined,
    existing: Set<string>,
    path: (string | number)[],
    what: string,
  ) =>
    names?.forEach((name, j) => {
      if (!existing.has(name)) problem([...path, j], `unknown ${what} "${name}"`)
    })

  const roles = new Set(policy.members.flatMap((m) => m.roles))
  unique(
    problem,
    policy.rules,
    (r) => r.id,
    (i) => ['rules', i, 'id'],
    (v) => `duplicate rule id "${v}"`,
  )
  policy.rules.forEach((rule, i) => {
    const at = (...rest: (string | number)[]) => ['rules', i, ...rest]
    mustExist(rule.subjects.teams, known.teamIds, at('subjects', 'teams'), 'team')
    mustExist(rule.subjects.members, known.memberIds, at('subjects', 'members'), 'member')
    mustExist(rule.subjects.roles, roles, at('subjects', 'roles'), 'role (no member holds it)')
    rule.approval?.roles.forEach((role, j) => {
      if (!roles.has(role)) {
        problem(
          at('approval', 'roles', j),
          `no member holds role "${role}", so nothing could ever be approved`,
        )
      }
    })
    if (
      rule.approval !== undefined &&
      (rule.actions.length !== 1 || rule.actions[0] !== 'delete')
    ) {
      problem(at('actions'), 'approval applies to deletes only: actions must be ["delete"]')
    }
    if (rule.approval !== undefined && rule.effect !== 'allow') {
      problem(at('approval'), 'only an allow rule can require approval')
    }
  })
}
