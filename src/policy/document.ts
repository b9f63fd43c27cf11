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
 *     rules:   [{ id, description, effect, actions, subjects?, conditions?, mode?, approval? }] }
 * The rule language and its semantics are in `rules.ts`; the decision is `decide.ts`.
 */
import { z } from '@hono/zod-openapi'
import { problemsOf, type Problem } from '../lib/zod-issues'
import { ruleSchema } from './rules'

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 lowercase letters, digits, ".", "_" or "-"')

const accountId = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hexadecimal characters')

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

export const policySchema = z
  .strictObject({
    version: z.literal(1),
    demo: z.boolean().default(false),
    teams: z.array(teamSchema).min(1),
    members: z.array(memberSchema),
    rules: z.array(ruleSchema).default([]),
  })
  .superRefine((policy, ctx) => {
    const teamIds = new Set<string>()
    policy.teams.forEach((team, i) => {
      if (teamIds.has(team.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['teams', i, 'id'],
          message: `duplicate team id "${team.id}"`,
        })
      }
      teamIds.add(team.id)
    })
    const memberIds = new Set<string>()
    const hashes = new Set<string>()
    const emails = new Set<string>()
    const commonNames = new Set<string>()
    policy.members.forEach((member, i) => {
      if (memberIds.has(member.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['members', i, 'id'],
          message: `duplicate member id "${member.id}"`,
        })
      }
      memberIds.add(member.id)
      if (!teamIds.has(member.team)) {
        ctx.addIssue({
          code: 'custom',
          path: ['members', i, 'team'],
          message: `unknown team "${member.team}"`,
        })
      }
      if (
        member.key_sha256 === undefined &&
        member.access_email === undefined &&
        member.access_common_name === undefined
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['members', i],
          message: 'a member needs key_sha256, access_email or access_common_name',
        })
      }
      if (member.access_email !== undefined) {
        const email = member.access_email.toLowerCase()
        if (emails.has(email)) {
          ctx.addIssue({
            code: 'custom',
            path: ['members', i, 'access_email'],
            message: 'this Access email is already used by another member',
          })
        }
        emails.add(email)
      }
      if (member.access_common_name !== undefined) {
        if (commonNames.has(member.access_common_name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['members', i, 'access_common_name'],
            message: 'this Access common name is already used by another member',
          })
        }
        commonNames.add(member.access_common_name)
      }
      if (member.key_sha256 !== undefined) {
        if (hashes.has(member.key_sha256)) {
          ctx.addIssue({
            code: 'custom',
            path: ['members', i, 'key_sha256'],
            message: 'this key hash is already used by another member',
          })
        }
        hashes.add(member.key_sha256)
      }
    })

    // Rules may only name teams and members that exist, and an approval must be grantable by
    // somebody: a typo here would silently make a rule match nobody.
    const roles = new Set(policy.members.flatMap((m) => m.roles))
    const ruleIds = new Set<string>()
    policy.rules.forEach((rule, i) => {
      if (ruleIds.has(rule.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'id'],
          message: `duplicate rule id "${rule.id}"`,
        })
      }
      ruleIds.add(rule.id)
      rule.subjects.teams?.forEach((team, j) => {
        if (!teamIds.has(team)) {
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'subjects', 'teams', j],
            message: `unknown team "${team}"`,
          })
        }
      })
      rule.subjects.members?.forEach((member, j) => {
        if (!memberIds.has(member)) {
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'subjects', 'members', j],
            message: `unknown member "${member}"`,
          })
        }
      })
      rule.approval?.roles.forEach((role, j) => {
        if (!roles.has(role)) {
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'approval', 'roles', j],
            message: `no member holds role "${role}", so nothing could ever be approved`,
          })
        }
      })
      if (
        rule.approval !== undefined &&
        (rule.actions.length !== 1 || rule.actions[0] !== 'delete')
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'actions'],
          message: 'approval applies to deletes only: actions must be ["delete"]',
        })
      }
      if (rule.approval !== undefined && rule.effect !== 'allow') {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'approval'],
          message: 'only an allow rule can require approval',
        })
      }
    })
  })

export type Policy = z.infer<typeof policySchema>
export type Member = Policy['members'][number]
export type Team = Policy['teams'][number]

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
