/**
 * Issue 20 (console): a team's members and their keys, without a deploy. The page lists the keys
 * minted in the gateway (coordinator/member-keys.ts through control/members.ts `listKeys`, as
 * `GET /gateway/v1/members` runs it) with role, state, age, last use and expiry, never a key or
 * its hash, and the members the policy document itself names. Where the policy lets the viewer:
 * a lead of the team (or an admin) adds a member and mints their key; a member rotates their own
 * key (the old one kept for a stated grace, or stopped at once); a lead revokes their team's keys,
 * an admin any, a member their own. The operations decide; the page only offers what they allow.
 *
 * A minted key is shown once, on the answer to the post that made it (sent `no-store`, like every
 * console page), never again and never in a log or an audit entry (the entry names the key id).
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from '@hono/zod-openapi'
import type { AppEnv } from '../app-env'
import {
  addMember,
  grantable,
  listKeys,
  revokeKey,
  rotateKey,
  MAX_GRACE_SECONDS,
  type KeyView,
  type Minted,
} from '../control/members'
import { mayChangePolicy } from '../control/policy-views'
import { GatewayError } from '../lib/errors'
import * as ids from '../lib/ids'
import type { Policy } from '../policy/document'
import { declareAction, settle } from '../pipe'
import { formFields } from './csrf'
import { Time } from './format'
import { Notice, TableRegion } from './layout'
import { membersDepsOf } from '../members/handlers'
import { renderPage } from './render'

const GRACES: { seconds: number; label: string }[] = [
  { seconds: 0, label: 'stop the old key now' },
  { seconds: 3600, label: 'keep the old key 1 hour' },
  { seconds: 86_400, label: 'keep the old key 1 day' },
  { seconds: MAX_GRACE_SECONDS, label: 'keep the old key 7 days' },
]

const STATE_TONE: Record<KeyView['state'], string> = {
  active: 'good',
  grace: 'warn',
  revoked: 'bad',
  expired: 'bad',
}

const teamQuery = z.strictObject({ team: ids.slug().optional() })
const mintForm = z.object({
  member: ids.slug(),
  team: ids.slug(),
  roles: z.array(ids.slug()).min(1, 'pick at least one role').max(16),
  expires_in_days: z.coerce.number().int().min(1).max(365),
})
const rotateForm = z.object({
  grace_seconds: z.coerce.number().int().min(0).max(MAX_GRACE_SECONDS),
})

function invalid(error: z.ZodError): never {
  const issue = error.issues[0]!
  throw GatewayError.of('INVALID_BODY', {
    message: `${issue.path.join('.') || 'form'}: ${issue.message}`,
    pointer: `/${issue.path.join('/')}`,
  })
}

/** Whether the viewer leads `team` or is an admin (control/members.ts decides the same way). */
function mayManage(c: Context<AppEnv>, team: string): boolean {
  const { principal, who } = c.var.scope
  const leads =
    principal.teamId === team &&
    principal.roles.some((role) => c.var.config.policy.member_keys.lead_roles.includes(role))
  return leads || mayChangePolicy(who)
}

/** The roles a lead may hand out: named somewhere in the policy, and grantable. */
function grantableRoles(policy: Policy): string[] {
  const named = new Set([
    ...policy.members.flatMap((m) => m.roles),
    ...policy.rules.flatMap((r) => r.subjects.roles ?? []),
  ])
  return [...named].filter((role) => grantable(policy, role)).sort()
}

function KeyRow(props: { view: KeyView; mine: boolean; manage: boolean; csrf: string }) {
  const { view, mine, manage, csrf } = props
  const live = view.state === 'active' || view.state === 'grace'
  return (
    <tr class={live ? undefined : 'expired'}>
      <th scope="row">
        {view.member}
        <div class="hint">
          <code>{view.key_id}</code>
        </div>
      </th>
      <td>{view.roles.join(', ')}</td>
      <td>
        <span class={`badge ${STATE_TONE[view.state]}`}>{view.state}</span>
        {view.revoked_at !== null && (
          <div class="hint">
            {view.state === 'grace' ? 'until ' : 'since '}
            <Time at={view.revoked_at} />
          </div>
        )}
      </td>
      <td>
        {`${view.age_days} day${view.age_days === 1 ? '' : 's'}`}
        <div class="hint">{`by ${view.created_by}`}</div>
      </td>
      <td>{view.last_used_at === null ? 'never' : <Time at={view.last_used_at} />}</td>
      <td>
        <Time at={view.expires_at} />
      </td>
      <td>
        {live && mine && (
          <form method="post" action={`/console/members/keys/${view.key_id}/rotate`}>
            <input type="hidden" name="csrf" value={csrf} />
            <label for={`grace-${view.key_id}`}>Rotate</label>
            <select id={`grace-${view.key_id}`} name="grace_seconds">
              {GRACES.map((g) => (
                <option value={String(g.seconds)}>{g.label}</option>
              ))}
            </select>{' '}
            <button type="submit">Rotate my key</button>
          </form>
        )}
        {live && (mine || manage) && (
          <form method="post" action={`/console/members/keys/${view.key_id}/revoke`}>
            <input type="hidden" name="csrf" value={csrf} />
            <button type="submit" class="danger">
              Revoke now<span class="visually-hidden">{` the key of ${view.member}`}</span>
            </button>
          </form>
        )}
        {!live && <span class="hint">ended</span>}
      </td>
    </tr>
  )
}

function MintForm(props: { team: string; policy: Policy; csrf: string }) {
  const roles = grantableRoles(props.policy)
  return (
    <section aria-labelledby="mint-heading">
      <h2 id="mint-heading">{`Add a member to ${props.team}`}</h2>
      <form class="filters" method="post" action="/console/members/mint">
        <input type="hidden" name="csrf" value={props.csrf} />
        <input type="hidden" name="team" value={props.team} />
        <div class="fields">
          <div>
            <label for="mint-member">Member id</label>
            <input id="mint-member" name="member" required maxlength={63} autocomplete="off" />
          </div>
          <div>
            <label for="mint-days">Key expires in (days)</label>
            <input
              id="mint-days"
              name="expires_in_days"
              type="number"
              min={1}
              max={365}
              value={String(props.policy.member_keys.key_days)}
              required
            />
          </div>
          <fieldset class="roles">
            <legend>Roles</legend>
            {roles.length === 0 ? (
              <p class="hint">No role may be granted without a policy change.</p>
            ) : (
              roles.map((role) => (
                <label>
                  <input type="checkbox" name="roles" value={role} /> {role}
                </label>
              ))
            )}
          </fieldset>
        </div>
        <p class="hint">
          Only roles that cannot delete, approve, change the policy or lead are offered: granting
          those is a policy proposal, reviewed by a second admin.
        </p>
        <div class="actions">
          <button type="submit">Add and mint a key</button>
        </div>
      </form>
    </section>
  )
}

async function membersList(c: Context<AppEnv>) {
  const query = teamQuery.safeParse({ team: c.req.query('team') })
  if (!query.success) {
    throw GatewayError.of('INVALID_QUERY', { message: 'must be a team id', pointer: '/team' })
  }
  const deps = membersDepsOf(c)
  const { team, keys } = settle(c, await listKeys(deps, query.data))
  const shown = team ?? c.var.scope.principal.teamId
  const { policy } = c.var.config
  const csrf = c.var.console.csrfToken
  const me = c.var.scope.principal.memberId
  const manage = mayManage(c, shown)
  const managed = deps.mode === 'managed'
  const inDocument = policy.members.filter((m) => m.team === shown)
  const revoked = c.req.query('revoked')
  return renderPage(c, {
    title: `Members of ${shown}`,
    section: 'members',
    children: (
      <>
        {revoked !== undefined && (
          <Notice tone="good">{`Key ${revoked} is revoked: every isolate refuses it within a second.`}</Notice>
        )}
        <p class="lead">
          The team's keys minted in the gateway, with their age, last use and expiry, and the
          members the policy document names. A key itself is shown only once, when it is minted.
        </p>
        {mayChangePolicy(c.var.scope.who) && (
          <form class="inline-form" method="get" action="/console/members">
            <label for="members-team">Team</label>
            <select id="members-team" name="team">
              {policy.teams.map((t) => (
                <option value={t.id} selected={t.id === shown}>
                  {t.id}
                </option>
              ))}
            </select>
            <button type="submit" class="secondary">
              Show
            </button>
          </form>
        )}
        {!managed && (
          <Notice tone="info">
            The policy is pinned (POLICY_MODE=pinned): members and keys change in git and with a
            deploy; nothing can be minted, rotated or revoked here.
          </Notice>
        )}
        <h2>Keys minted in the gateway</h2>
        {keys.length === 0 ? (
          <p>No keys minted for this team yet.</p>
        ) : (
          <TableRegion label="Member keys">
            <table>
              <caption>{`${keys.length} key${keys.length === 1 ? '' : 's'} of ${shown}`}</caption>
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Roles</th>
                  <th scope="col">State</th>
                  <th scope="col">Age</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {keys.map((view) => (
                  <KeyRow
                    view={view}
                    mine={view.member === me && managed}
                    manage={manage && managed}
                    csrf={csrf}
                  />
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
        <h2>Members in the policy document</h2>
        {inDocument.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul>
            {inDocument.map((m) => (
              <li>
                {`${m.id} (${m.roles.join(', ')})`}
                {m.revoked ? ', revoked' : ''}
                {m.expires_at !== undefined ? `, until ${m.expires_at}` : ''}
              </li>
            ))}
          </ul>
        )}
        <p class="hint">These change with a policy proposal (or, pinned, in git).</p>
        {managed && manage && <MintForm team={shown} policy={policy} csrf={csrf} />}
      </>
    ),
  })
}

/** The one page a key is ever shown on. */
function KeyOnce(props: { minted: Minted; replaced?: KeyView }) {
  const { minted } = props
  return (
    <>
      <Notice tone="good">
        <p>
          {`This is the key of ${minted.member} (${minted.team}; ${minted.roles.join(', ')}). Copy it now and hand it over privately: it is shown this once and never again. The gateway keeps only its hash.`}
        </p>
      </Notice>
      <p>
        <label for="minted-key">The key</label>
        <input id="minted-key" readonly value={minted.key} class="mono" size={60} />
      </p>
      <dl class="facts">
        <dt>Key id</dt>
        <dd>
          <code>{minted.key_id}</code>
        </dd>
        <dt>Expires</dt>
        <dd>
          <Time at={minted.expires_at} />
        </dd>
        {props.replaced !== undefined && (
          <>
            <dt>The old key</dt>
            <dd>
              {props.replaced.state === 'grace' && props.replaced.revoked_at !== null ? (
                <>
                  {'works until '}
                  <Time at={props.replaced.revoked_at} />
                </>
              ) : (
                'stopped now'
              )}
            </dd>
          </>
        )}
      </dl>
      <p>
        <a href={`/console/members?team=${minted.team}`}>Back to the members of {minted.team}</a>
      </p>
    </>
  )
}

async function mint(c: Context<AppEnv>) {
  const fields = await c.req.parseBody({ all: true })
  const roles = fields.roles === undefined ? [] : [fields.roles].flat()
  const parsed = mintForm.safeParse({ ...fields, roles })
  if (!parsed.success) invalid(parsed.error)
  const minted = settle(c, await addMember(membersDepsOf(c), parsed.data))
  return renderPage(c, {
    title: `A key for ${minted.member}`,
    section: 'members',
    children: <KeyOnce minted={minted} />,
  })
}

const keyIdOf = (c: Context<AppEnv>) => {
  const id = c.req.param('keyId') ?? ''
  if (!ids.UUID.test(id)) throw GatewayError.of('MEMBER_KEY_NOT_FOUND')
  return id
}

async function rotate(c: Context<AppEnv>) {
  const key_id = keyIdOf(c)
  const parsed = rotateForm.safeParse(await formFields(c))
  if (!parsed.success) invalid(parsed.error)
  const rotated = settle(c, await rotateKey(membersDepsOf(c), { key_id, ...parsed.data }))
  return renderPage(c, {
    title: 'Your new key',
    section: 'members',
    children: <KeyOnce minted={rotated} replaced={rotated.replaced} />,
  })
}

async function revoke(c: Context<AppEnv>) {
  const key_id = keyIdOf(c)
  const view = settle(c, await revokeKey(membersDepsOf(c), { key_id }))
  const query = new URLSearchParams({ team: view.team, revoked: view.key_id })
  return c.redirect(`/console/members?${query}`, 303)
}

export const memberPages = new Hono<AppEnv>()
  .get('/console/members', declareAction('members'), membersList)
  .post('/console/members/mint', declareAction('members'), mint)
  .post('/console/members/keys/:keyId/rotate', declareAction('members'), rotate)
  .post('/console/members/keys/:keyId/revoke', declareAction('members'), revoke)
