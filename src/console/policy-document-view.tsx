/**
 * Issue 20 (console): one policy revision's document as people read it: its teams, members with
 * their roles and how they sign in, rules in words, and the budget, quotas and limits as written.
 * A member's key hash is never shown (only that a key is set): it is what a key is checked
 * against, and nobody reviewing the policy needs it.
 */
import type { Policy } from '../policy/document'
import type { Rule } from '../policy/rules'
import { TableRegion } from './layout'

const listed = (items: readonly string[] | undefined, none: string) =>
  items === undefined || items.length === 0 ? none : items.join(', ')

function subjectsOf(rule: Rule): string {
  const { teams, roles, members } = rule.subjects
  const parts = [
    teams && `teams ${teams.join(', ')}`,
    roles && `roles ${roles.join(', ')}`,
    members && `members ${members.join(', ')}`,
  ].filter((part): part is string => typeof part === 'string')
  return parts.length === 0 ? 'everyone' : parts.join('; ')
}

function conditionsOf(rule: Rule): string {
  const c = rule.conditions
  const parts = [
    c.owner && `owner: ${c.owner.replace('_', ' ')}`,
    c.ca !== undefined && (c.ca ? 'CA certificates' : 'leaf certificates'),
    c.has_associations !== undefined && (c.has_associations ? 'in use' : 'not in use'),
    c.expires_within_days !== undefined && `expiring within ${c.expires_within_days} days`,
  ].filter((part): part is string => typeof part === 'string')
  return parts.length === 0 ? 'always' : parts.join('; ')
}

function signInOf(member: Policy['members'][number]): string {
  const ways = [
    member.key_sha256 !== undefined && 'a gateway key (its hash kept, never shown)',
    member.access_email !== undefined && `Cloudflare Access as ${member.access_email}`,
    member.access_common_name !== undefined && 'a Cloudflare Access service token',
  ].filter((way): way is string => typeof way === 'string')
  return ways.length === 0 ? 'keys minted in the gateway only' : ways.join('; ')
}

/** The settings shown as written (absent ones fall back to their defaults). */
const SETTINGS = ['budget', 'quotas', 'limits', 'member_keys', 'snapshot', 'lifecycle'] as const

export function PolicyDocumentView(props: { policy: Policy; written: Record<string, unknown> }) {
  const { policy, written } = props
  const now = Date.now()
  return (
    <>
      <h2>Teams</h2>
      <TableRegion label="Teams">
        <table>
          <caption>{`${policy.teams.length} teams`}</caption>
          <thead>
            <tr>
              <th scope="col">Team</th>
              <th scope="col">Accounts</th>
              <th scope="col">Members</th>
            </tr>
          </thead>
          <tbody>
            {policy.teams.map((team) => (
              <tr>
                <th scope="row">
                  {team.id}
                  {team.description && <div class="hint">{team.description}</div>}
                </th>
                <td>
                  <code>{team.accounts.join(', ')}</code>
                </td>
                <td>
                  {listed(
                    policy.members.filter((m) => m.team === team.id).map((m) => m.id),
                    'none',
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      <h2>Members</h2>
      <TableRegion label="Members">
        <table>
          <caption>{`${policy.members.length} members in the document (keys minted in the gateway are on the Members page)`}</caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Team</th>
              <th scope="col">Roles</th>
              <th scope="col">Signs in with</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {policy.members.map((member) => {
              const expired =
                member.expires_at !== undefined && Date.parse(member.expires_at) <= now
              return (
                <tr class={member.revoked || expired ? 'expired' : undefined}>
                  <th scope="row">{member.id}</th>
                  <td>{member.team}</td>
                  <td>{member.roles.join(', ')}</td>
                  <td>{signInOf(member)}</td>
                  <td>
                    {member.revoked ? (
                      <span class="badge bad">revoked</span>
                    ) : expired ? (
                      <span class="badge bad">expired</span>
                    ) : (
                      <span class="badge good">active</span>
                    )}
                    {member.expires_at !== undefined && (
                      <div class="hint">{`until ${member.expires_at}`}</div>
                    )}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </TableRegion>
      <h2>Rules</h2>
      <TableRegion label="Rules">
        <table>
          <caption>{`${policy.rules.length} rules, in the order they are read`}</caption>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Effect</th>
              <th scope="col">Actions</th>
              <th scope="col">Who</th>
              <th scope="col">When</th>
              <th scope="col">Approval</th>
            </tr>
          </thead>
          <tbody>
            {policy.rules.map((rule) => (
              <tr>
                <th scope="row">
                  {rule.id}
                  <div class="hint">{rule.description}</div>
                </th>
                <td>
                  <span class={`badge ${rule.effect === 'allow' ? 'good' : 'bad'}`}>
                    {rule.effect}
                  </span>
                  {rule.mode === 'shadow' && <div class="hint">shadow: logged, not enforced</div>}
                </td>
                <td>{rule.actions.join(', ')}</td>
                <td>{subjectsOf(rule)}</td>
                <td>{conditionsOf(rule)}</td>
                <td>
                  {rule.approval === undefined
                    ? 'none'
                    : `a second ${rule.approval.roles.join(' or ')}, within ${rule.approval.ttl_minutes} min`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      <h2>Budget, quotas and limits</h2>
      <dl class="facts">
        {SETTINGS.map((name) => (
          <>
            <dt>{name}</dt>
            <dd>
              {written[name] === undefined ? (
                <span class="hint">not set: the defaults apply</span>
              ) : (
                <pre>{JSON.stringify(written[name], null, 2)}</pre>
              )}
            </dd>
          </>
        ))}
      </dl>
    </>
  )
}
