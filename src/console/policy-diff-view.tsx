/**
 * Issue 20 (console): a policy diff as people read it, shared by the diff of two revisions and a
 * proposal's page. The structural diff (what was added, removed, changed) and the exhaustive
 * access diff (control/access-diff.ts): every case decided differently, as tables, grouped by
 * change, newly allowed first since that is what a reviewer must not miss.
 */
import type { AccessDifference, Change } from '../control/access-diff'
import type { PolicyDiff, StructuralDiff } from '../control/policy-diff'
import { Notice, TableRegion } from './layout'

/** Rows shown per kind of change: the counts stay whole, a page stays readable. */
export const SHOWN_PER_CHANGE = 200

const CHANGES: { change: Change; title: string }[] = [
  { change: 'newly_allowed', title: 'Newly allowed' },
  { change: 'approval_no_longer_needed', title: 'No longer needing an approval' },
  { change: 'newly_needing_approval', title: 'Newly needing an approval' },
  { change: 'newly_denied', title: 'Newly denied' },
]

const OWNER: Record<AccessDifference['owner'], string> = {
  collection: 'the list (no certificate yet)',
  own: "the subject's own team",
  other_team: "another team's",
  unowned: 'unowned',
}

const subjectOf = (d: AccessDifference) =>
  'team' in d.subject ? `any ${d.subject.role} of ${d.subject.team}` : `member ${d.subject.member}`

function certificateOf(d: AccessDifference): string {
  if (d.owner === 'collection') return OWNER.collection
  const parts = [
    `${OWNER[d.owner]} ${d.ca === true ? 'CA' : d.ca === false ? 'leaf' : 'certificate'}`,
  ]
  if (d.has_associations !== undefined) {
    parts.push(d.has_associations ? 'in use' : 'not in use')
  }
  if (d.expires_in_days !== undefined) parts.push(`expiring in ${d.expires_in_days} days`)
  return parts.join(', ')
}

const listed = (items: string[]) => (items.length === 0 ? 'none' : items.join(', '))

export function StructuralView(props: { structural: StructuralDiff }) {
  const s = props.structural
  const rows: [string, { added: string[]; removed: string[]; changed?: string[] }][] = [
    ['Teams', s.teams],
    ['Members', s.members],
    ['Rules', s.rules],
    ['Roles', s.roles],
  ]
  return (
    <>
      <TableRegion label="Structural diff">
        <table>
          <caption>What was added, removed or changed</caption>
          <thead>
            <tr>
              <th scope="col">Part</th>
              <th scope="col">Added</th>
              <th scope="col">Removed</th>
              <th scope="col">Changed</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([name, delta]) => (
              <tr>
                <th scope="row">{name}</th>
                <td>{listed(delta.added)}</td>
                <td>{listed(delta.removed)}</td>
                <td>{delta.changed === undefined ? '-' : listed(delta.changed)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      {s.limits.length > 0 && (
        <TableRegion label="Budget, quotas and limits changed">
          <table>
            <caption>Budget, quotas and limits changed</caption>
            <thead>
              <tr>
                <th scope="col">Setting</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {s.limits.map((leaf) => (
                <tr>
                  <th scope="row">
                    <code>{leaf.pointer}</code>
                  </th>
                  <td>
                    <code>{JSON.stringify(leaf.before ?? null)}</code>
                  </td>
                  <td>
                    <code>{JSON.stringify(leaf.after ?? null)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </>
  )
}

function AccessTable(props: { title: string; rows: AccessDifference[]; total: number }) {
  const shown = props.rows.slice(0, SHOWN_PER_CHANGE)
  return (
    <TableRegion label={props.title}>
      <table>
        <caption>
          {`${props.title}: ${props.total} case${props.total === 1 ? '' : 's'}${
            shown.length < props.total ? ` (the first ${shown.length} shown)` : ''
          }`}
        </caption>
        <thead>
          <tr>
            <th scope="col">Who</th>
            <th scope="col">Action</th>
            <th scope="col">On</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((d) => (
            <tr>
              <th scope="row">{subjectOf(d)}</th>
              <td>{d.action}</td>
              <td>{certificateOf(d)}</td>
              <td>{d.before}</td>
              <td>{d.after}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  )
}

export function AccessView(props: { diff: PolicyDiff }) {
  const { access } = props.diff
  const any = CHANGES.some(({ change }) => access.counts[change] > 0)
  return (
    <>
      <p>
        {`Every case was decided under both revisions: ${access.cases} cases (each team and role, each member, each action, on the list and on certificates owned by the subject's team, another team or nobody, CA or leaf, and each condition the rules use).`}
      </p>
      {!any && <Notice tone="good">No case is decided differently: the access is the same.</Notice>}
      {CHANGES.filter(({ change }) => access.counts[change] > 0).map(({ change, title }) => (
        <AccessTable
          title={title}
          rows={access.differences.filter((d) => d.change === change)}
          total={access.counts[change]}
        />
      ))}
    </>
  )
}

/** Why the change needs a second admin, or that it does not. */
export function WideningView(props: { widening: string[] }) {
  if (props.widening.length === 0) {
    return (
      <Notice tone="good">
        It does not widen access: a change like it applies at once, without a second admin.
      </Notice>
    )
  }
  return (
    <Notice tone="bad">
      <p>It widens access, so a second admin must approve it:</p>
      <ul>
        {props.widening.map((reason) => (
          <li>{reason}</li>
        ))}
      </ul>
    </Notice>
  )
}

/** The whole diff: widening verdict, structural tables, access tables. */
export function DiffView(props: { diff: PolicyDiff }) {
  return (
    <>
      <WideningView widening={props.diff.widening} />
      <h2>Structural diff</h2>
      <StructuralView structural={props.diff.structural} />
      <h2>Access diff</h2>
      <AccessView diff={props.diff} />
    </>
  )
}
