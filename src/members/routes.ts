/** Members and their keys (issue 20, slice 4), under /gateway/v1/members. */
import { createRoute, z } from '@hono/zod-openapi'
import * as ids from '../lib/ids'
import { CHANGE, failures, ok, tagged } from '../lib/openapi'
import { declareAction, jsonBody } from '../pipe'
import { MAX_GRACE_SECONDS } from '../control/members'

const keyView = z.object({
  key_id: z.uuid(),
  member: z.string(),
  team: z.string(),
  roles: z.array(z.string()),
  state: z.enum(['active', 'grace', 'revoked', 'expired']),
  created_at: z.string(),
  created_by: z.string(),
  age_days: z.number().int(),
  expires_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
})
const minted = keyView.extend({
  key: z.string().openapi({ description: 'The key itself: shown this once, never again' }),
})

const addBody = z.strictObject({
  member: ids.slug(),
  team: ids.slug().optional().openapi({ description: "The team; the caller's own by default" }),
  roles: z.array(ids.slug()).min(1).max(16),
  expires_in_days: z.number().int().min(1).max(365).optional().openapi({
    description: "Days until the key expires; the policy's member_keys.key_days by default",
  }),
})
const rotateBody = z.strictObject({
  grace_seconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).openapi({
    description: 'How long the old key keeps working: 0 revokes it at once; at most 7 days',
  }),
})
const keyParams = z.strictObject({ key_id: z.uuid() })
const listQuery = z.strictObject({ team: ids.slug().optional() })

const CHANGING = [...CHANGE, 'POLICY_PINNED'] as const

export const listMembersRoute = createRoute({
  operationId: 'listMemberKeys',
  method: 'get',
  path: '/gateway/v1/members',
  tags: tagged('policy'),
  summary: "A team's member keys",
  description:
    "The member keys of a team (the caller's own by default; another team's for an admin only), with their age, last use (to within a minute) and expiry. Never a key or its hash.",
  middleware: [declareAction('members')] as const,
  request: { query: listQuery },
  responses: {
    200: ok(z.object({ team: z.string().nullable(), keys: z.array(keyView) }), "The team's keys"),
    ...failures({ query: listQuery }, ['MEMBERS_NOT_ALLOWED', 'COORDINATOR_UNAVAILABLE']),
  },
})

export const addMemberRoute = createRoute({
  operationId: 'addMember',
  method: 'post',
  path: '/gateway/v1/members',
  tags: tagged('policy'),
  summary: 'Add a member and mint their key',
  description:
    "A lead (a role in the policy's member_keys.lead_roles) adds a member to their own team with roles a lead may grant (none that may delete, approve or change the policy), and gets the member's key, shown this once. Effective in every isolate at once.",
  middleware: [declareAction('members'), jsonBody()] as const,
  request: { body: { content: { 'application/json': { schema: addBody } }, required: true } },
  responses: {
    200: ok(minted, 'The key, shown once'),
    ...failures({ body: addBody }, [
      ...CHANGING,
      'MEMBERS_NOT_ALLOWED',
      'MEMBER_ROLE_NOT_GRANTABLE',
      'MEMBER_ID_TAKEN',
    ]),
  },
})

export const rotateKeyRoute = createRoute({
  operationId: 'rotateMemberKey',
  method: 'post',
  path: '/gateway/v1/members/keys/{key_id}/rotate',
  tags: tagged('policy'),
  summary: 'Rotate your own key',
  description:
    'A member replaces their own key with a new one (shown once); the old one keeps working for `grace_seconds` (0: revoked at once).',
  middleware: [declareAction('members'), jsonBody()] as const,
  request: {
    params: keyParams,
    body: { content: { 'application/json': { schema: rotateBody } }, required: true },
  },
  responses: {
    200: ok(minted.extend({ replaced: keyView }), 'The new key, shown once, and the old one'),
    ...failures({ params: keyParams, body: rotateBody }, [
      ...CHANGING,
      'MEMBER_KEY_NOT_FOUND',
      'MEMBER_KEY_ENDED',
    ]),
  },
})

export const revokeKeyRoute = createRoute({
  operationId: 'revokeMemberKey',
  method: 'post',
  path: '/gateway/v1/members/keys/{key_id}/revoke',
  tags: tagged('policy'),
  summary: 'Revoke a key',
  description:
    "Revokes a key at once, in every isolate within a second: an admin any key, a lead their team's, a member their own.",
  middleware: [declareAction('members')] as const,
  request: { params: keyParams },
  responses: {
    200: ok(keyView, 'Revoked'),
    ...failures({ params: keyParams }, [...CHANGING, 'MEMBER_KEY_NOT_FOUND']),
  },
})
