/**
 * The rule language of the policy document: who (teams, roles, members) may or may not do what
 * (actions) to which certificates (conditions), enforced or only reported (mode).
 *
 * Semantics (the decision itself is `decide.ts`):
 *   - A rule matches when its action list covers the action, every subject list it has contains the
 *     caller (lists it leaves out match everyone) and every condition it has holds.
 *   - `owner` defaults to "own_team" for an allow rule: a grant that says nothing about ownership
 *     only ever covers the caller's own team's certificates. For a deny rule it defaults to "any":
 *     a prohibition that says nothing about ownership applies everywhere. Both defaults err on the
 *     side of refusing. "any" reaches every certificate of the account, including unowned ones
 *     (that is "account-wide scope"); "unowned" reaches only certificates nobody owns.
 *   - Default deny. Any matching enforced deny beats every allow.
 *   - `approval` on an allow rule makes the action wait for a second member holding one of its roles.
 */
import { z } from '@hono/zod-openapi'
import * as ids from '../lib/ids'

/** Actions on certificates, in the upstream's terms. */
export const CERTIFICATE_ACTIONS = ['list', 'get', 'upload', 'delete', 'associations'] as const
/**
 * The gateway's own actions: assign an unowned certificate, approve a delete, read the audit log,
 * close the budget's breaker; and (issue 20) propose, approve or roll back a change of the policy
 * itself, which belongs to no team: only an allow rule with `owner: any` grants `policy`.
 */
const GATEWAY_ACTIONS = ['assign', 'approve', 'audit', 'breaker', 'policy'] as const
export const ACTIONS = [...CERTIFICATE_ACTIONS, ...GATEWAY_ACTIONS] as const
export type PolicyAction = (typeof ACTIONS)[number]

const slug = ids.slugReference()

export const ruleSchema = z.strictObject({
  id: ids.slug(),
  description: z.string().min(1, 'say why the rule exists').max(500),
  effect: z.enum(['allow', 'deny']),
  actions: z.array(z.enum([...ACTIONS, '*'])).min(1),
  subjects: z
    .strictObject({
      teams: z.array(slug).min(1).optional(),
      roles: z.array(slug).min(1).optional(),
      members: z.array(slug).min(1).optional(),
    })
    .default({}),
  conditions: z
    .strictObject({
      owner: z.enum(['own_team', 'any', 'unowned']).optional(),
      ca: z.boolean().optional(),
      has_associations: z.boolean().optional(),
      expires_within_days: z.number().int().min(0).max(36_500).optional(),
    })
    .default({}),
  mode: z.enum(['enforce', 'shadow']).default('enforce'),
  approval: z
    .strictObject({
      roles: z.array(slug).min(1),
      ttl_minutes: z.number().int().min(1).max(10_080).default(60),
    })
    .optional(),
})

export type Rule = z.infer<typeof ruleSchema>
