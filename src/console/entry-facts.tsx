/**
 * What the console's entry page says happened: the fields `ENTRY_FIELDS` labels for the page
 * (audit/entry.ts), in the schema's order, so that a field added to the entry with a label shows
 * here without an edit. A field shows its value as text unless it needs more (a time, an id to
 * copy, a decision with its rules, an outcome with its status and codes): those are below.
 */
import { PAGE_FIELDS, type AuditEntry } from '../audit/entry'
import { meaningOf, partiesOf } from './entry-sentence'
import { OutcomeBadge, Time } from './format'

function Fact(props: { term: string; children?: unknown }) {
  return (
    <>
      <dt>{props.term}</dt>
      <dd>{props.children ?? <span class="hint">none</span>}</dd>
    </>
  )
}

type Field = (typeof PAGE_FIELDS)[number][0]
type Shown = (e: AuditEntry, term: string) => unknown

const code = (value: string | undefined) => value && <code>{value}</code>

/** The fields shown otherwise than as their value's text. */
const SHOWN: Partial<Record<Field, Shown>> = {
  time: (e, term) => (
    <Fact term={term}>
      <Time at={e.time} />
    </Fact>
  ),
  request_id: (e, term) => <Fact term={term}>{code(e.request_id)}</Fact>,
  // Issue 20: a policy change, and the revision that decided the request.
  policy_change: (e, term) =>
    e.policy_change && (
      <Fact term={term}>
        {`${e.policy_change.verdict} ${e.policy_change.kind} `}
        {code(e.policy_change.proposal)}
        {': '}
        {code(e.policy_change.before.slice(0, 12))}
        {' → '}
        {code(e.policy_change.after.slice(0, 12))}
        <div>{e.policy_change.summary}</div>
      </Fact>
    ),
  // A certificate's life: a notice, escalation or acknowledgement, or a change made outside.
  lifecycle: (e, term) => {
    const life = e.lifecycle
    if (life === undefined) return undefined
    const actor = life.actor
    const who = actor && (actor.email ?? actor.token_name ?? actor.token_id ?? actor.context)
    return (
      <Fact term={term}>
        {`${life.horizon} `}
        {code(life.certificate_id)}
        {life.channel !== undefined && ` to ${life.channel}`}
        {life.delivery !== undefined && `: ${life.delivery}`}
        {life.attempts !== undefined &&
          (life.delivery === 'failed'
            ? ` (attempt ${life.attempts})`
            : ` after ${life.attempts} attempt(s)`)}
        {life.reason !== undefined && <div>{life.reason}</div>}
        {life.next_attempt_at !== undefined && <div>{`next attempt ${life.next_attempt_at}`}</div>}
        {life.expires_on !== undefined && <div>{`expires ${life.expires_on}`}</div>}
        {actor !== undefined && <div>{`by ${who} (${actor.context})`}</div>}
      </Fact>
    )
  },
  // A member key minted, rotated or revoked: ids and times only, never a key or its hash.
  key_change: (e, term) =>
    e.key_change && (
      <Fact term={term}>
        {`${e.key_change.verb} `}
        {code(e.key_change.key_id)}
        {` for ${e.key_change.member} (${e.key_change.team}: ${e.key_change.roles.join(', ')}), expires ${e.key_change.expires_at}`}
        {e.key_change.replaced_key_id !== undefined && (
          <div>
            {'replaces '}
            {code(e.key_change.replaced_key_id)}
            {e.key_change.replaced_until !== undefined &&
              `, which works until ${e.key_change.replaced_until}`}
          </div>
        )}
      </Fact>
    ),
  policy_revision: (e, term) =>
    e.policy_revision && <Fact term={term}>{code(e.policy_revision)}</Fact>,
  account_id: (e, term) => <Fact term={term}>{code(e.account_id)}</Fact>,
  certificate_id: (e, term) => (
    <Fact term={term}>
      {code(e.certificate_id)}
      {e.certificate_name && <div>{e.certificate_name}</div>}
    </Fact>
  ),
  // Shown only when the entry has one: most requests carry no certificate.
  fingerprint_sha256: (e, term) =>
    e.fingerprint_sha256 && <Fact term={term}>{code(e.fingerprint_sha256)}</Fact>,
  serial_number: (e, term) => e.serial_number && <Fact term={term}>{code(e.serial_number)}</Fact>,
  decision: (e, term) => (
    <>
      <Fact term={term}>{e.decision?.effect}</Fact>
      <Fact term="Deciding rules">
        {e.decision && e.decision.rule_ids.length > 0
          ? e.decision.rule_ids.join(', ')
          : e.decision?.effect === 'deny'
            ? 'none: no rule allows it (default deny)'
            : undefined}
      </Fact>
      {e.decision?.shadow && (
        <Fact term="Shadow rules would">{`${e.decision.shadow.effect} (${e.decision.shadow.rule_ids.join(', ') || 'no rule'})`}</Fact>
      )}
    </>
  ),
  approval: (e, term) =>
    e.approval && (
      <Fact term={term}>
        <code>{e.approval.id}</code>
        {/* Issue 22 (review-audit): a refused approval never reads "approved by". */}
        {` ${partiesOf(e)}`}
        {e.approval.reason !== undefined && <div>{`Reason: ${e.approval.reason}`}</div>}
      </Fact>
    ),
  outcome: (e, term) => (
    <>
      <Fact term={term}>
        <OutcomeBadge outcome={e.outcome.class} />
      </Fact>
      <Fact term="Status">
        {e.outcome.status === undefined ? undefined : String(e.outcome.status)}
      </Fact>
      <Fact term="Error codes">
        {e.outcome.error_codes.length > 0
          ? e.outcome.error_codes.map((code) => <div>{`${code}: ${meaningOf(code)}`}</div>)
          : undefined}
      </Fact>
    </>
  ),
  // Issue 22 (review-audit): in words, not as a boolean.
  certificate_ca: (e, term) => (
    <Fact term={term}>
      {e.certificate_ca === undefined ? undefined : e.certificate_ca ? 'CA' : 'leaf'}
    </Fact>
  ),
  latency_ms: (e, term) => (
    <Fact term={term}>{e.latency_ms === undefined ? undefined : `${e.latency_ms} ms`}</Fact>
  ),
}

/** A field as its value's text ("none" when the entry has no value for it). */
const asText: (field: Field) => Shown = (field) => (e, term) => {
  const value = e[field]
  return <Fact term={term}>{value === undefined ? undefined : String(value)}</Fact>
}

export function EntryFacts(props: { entry: AuditEntry }) {
  const e = props.entry
  return (
    <>
      <h2>What happened</h2>
      <dl class="facts">
        {PAGE_FIELDS.map(([field, term]) => (SHOWN[field] ?? asText(field))(e, term))}
      </dl>
      <p class="hint">
        The decision's reason and adoptions are kept in the stored entry, not in the summary queries
        read.
        {e.truncated && ' This summary was cut to fit KV metadata.'}
      </p>
    </>
  )
}
