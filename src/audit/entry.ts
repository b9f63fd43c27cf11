/**
 * What an audit entry holds, and its two stored forms.
 *
 * This file owns the list of recorded fields: `auditEntrySchema` is the one description of an
 * entry. The `AuditEntry` type, the OpenAPI schema `AuditEntry` (audit/routes.ts) and the CSV
 * columns (audit/export.ts, in the schema's field order) are derived from it, so a field added
 * here is typed, documented and exported at once. It builds an entry only from `RequestFacts`
 * (who, what, which certificate, the decision, the outcome), so a token, a caller's key, a private
 * key, a PEM or a request body cannot reach the log: they are not in the facts. It must never read
 * a raw request.
 *
 * Stored forms: the KV value is the full entry (JSON); the KV metadata is `Summary`, the same
 * fields under short names, cut to fit KV's 1024 bytes, so that reviewers' queries are answered
 * from list() alone. `expand(summary)` gives back an entry (marked `truncated` if it was cut). The
 * summary leaves out `decision.reason`: it is in the KV value only.
 *
 * What an entry touches (`touches`): the teams, members and certificates a reviewer would expect
 * to find it under. Not only the caller's: the teams and certificates of adoptions, an assignment's
 * new and previous team, the requester of an approved delete. The query matches on all of them,
 * so every change shows under each of its parties.
 */
import { z } from '@hono/zod-openapi'
import { ERROR_CODES } from '../lib/errors'
import type { RequestFacts } from './record'

export const OUTCOME_CLASSES = [
  'allowed',
  'denied',
  'invalid',
  'unauthenticated',
  'upstream_error',
  'gateway_error',
  'pending',
  // Issue 22: a delete parked for approval: allowed so far, but nothing was deleted.
  'parked',
] as const
export type OutcomeClass = (typeof OUTCOME_CLASSES)[number]

const verdictSchema = z.strictObject({
  effect: z.enum(['allow', 'deny']),
  rule_ids: z.array(z.string()).openapi({ description: 'The rules that decided' }),
})
export type Verdict = z.output<typeof verdictSchema>

const suppressedSchema = z
  .strictObject({
    count: z.number().int(),
    first: z.iso.datetime(),
    last: z.iso.datetime(),
    error_codes: z.record(z.string(), z.number().int()).openapi({
      description: 'How many of them were answered with each error code (0: none)',
    }),
  })
  .openapi({
    description:
      "What a flood left behind when it was not recorded one by one: anonymous requests, or (with member and team) a member's requests over their rate",
  })
export type Suppressed = z.output<typeof suppressedSchema>

// Issue 23 (lifecycle): the entry kinds of the expiry watch and drift, and their `lifecycle` field.
export const LIFECYCLE_KINDS = ['notice', 'escalation', 'acknowledgement', 'drift'] as const
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number]
const LIFECYCLE_SHORT = { notice: 'n', escalation: 'x', acknowledgement: 'k', drift: 'd' } as const
const lifecycleSchema = z
  .strictObject({
    certificate_id: z.string(),
    /** `60d` ... `1d`, `expired`; `appeared` or `vanished` for drift. */
    horizon: z.string(),
    channel: z.string().optional(),
    notice_id: z.string().optional(),
    /** `failed`: one attempt that did not reach the receiver (another follows at `next_attempt_at`). */
    delivery: z.enum(['delivered', 'failed', 'undeliverable']).optional(),
    attempts: z.number().int().optional(),
    /** Why an attempt failed: `status 500`, `unreachable`, a channel missing; never a URL. */
    reason: z.string().optional(),
    /** A failed attempt's retry is due then (the backoff of coordinator/notices.ts). */
    next_attempt_at: z.string().optional(),
    expires_on: z.string().optional(),
    /** Drift: who made the change, from the account's audit log (Audit Logs v2 `actor`). */
    actor: z
      .strictObject({
        context: z.string(),
        type: z.string().optional(),
        email: z.string().optional(),
        token_id: z.string().optional(),
        token_name: z.string().optional(),
        at: z.string().optional(),
      })
      .optional(),
  })
  .openapi({
    description:
      "A certificate's life (issue 23): a notice or escalation sent (or given up), an acknowledgement, or a change made outside the gateway and who made it",
  })
export type LifecycleFacts = z.output<typeof lifecycleSchema>

/**
 * The audit entry. Field order matters: it is the order of the CSV columns (see export.ts), so a
 * new field goes where a reader of the export would look for it.
 */
export const auditEntrySchema = z
  .strictObject({
    time: z.iso.datetime(),
    id: z.string().openapi({
      description:
        "The key's unique suffix: the request id for requests, a fresh UUIDv7 for summaries",
    }),
    kind: z.enum([
      'request',
      'suppressed',
      // Issue 23 (lifecycle): entries of jobs and members about a certificate's life.
      ...LIFECYCLE_KINDS,
    ]),
    request_id: z.string().optional(),
    member: z.string().optional(),
    team: z.string().optional(),
    via: z.string().optional().openapi({ description: 'How the member was authenticated' }),
    action: z.string().optional(),
    account_id: z.string().optional(),
    certificate_id: z.string().optional(),
    certificate_name: z.string().optional(),
    fingerprint_sha256: z.string().optional(),
    serial_number: z.string().optional(),
    decision: verdictSchema
      .extend({
        reason: z.string().optional(),
        shadow: verdictSchema.optional().openapi({
          description: 'What the rules in shadow mode would have decided',
        }),
      })
      .optional(),
    approval: z
      .strictObject({
        id: z.string(),
        requested_by: z.string(),
        approved_by: z.string().optional(),
        // Issue 22: in the summary too (cut, like a name, if it must be to fit).
        reason: z.string().optional().openapi({
          description:
            "Why: the requester's reason for a parked delete, or the reason of a withdraw or reject",
        }),
      })
      .optional()
      .openapi({
        description:
          'A two-person delete, or a transfer request (filed or approved): its id and both members',
      }),
    adopted: z
      .array(z.strictObject({ certificate_id: z.string(), team: z.string() }))
      .optional()
      .openapi({
        description:
          'Certificates this request gave to a team by adoption (ownership/reconcile.ts)',
      }),
    assigned: z
      .strictObject({ team: z.string(), previous_team: z.string().optional() })
      .optional()
      .openapi({ description: 'An owner assigned by an admin: the new team and the one before' }),
    outcome: z.strictObject({
      class: z.enum(OUTCOME_CLASSES),
      status: z.number().int().optional(),
      error_codes: z.array(z.number().int()),
    }),
    latency_ms: z.number().int().optional(),
    upstream_attempts: z.number().int(),
    suppressed: suppressedSchema.optional(),
    truncated: z.literal(true).optional().openapi({
      description: 'Set on entries rebuilt from a summary that had to be cut to fit KV metadata',
    }),
    // Last, so that the CSV columns before them keep their positions.
    chain: z.string().optional().openapi({
      description:
        'Which sequence numbers the entry: its account id, or "gateway" for entries that name none',
    }),
    seq: z.number().int().min(1).optional().openapi({
      description:
        'Its number in its chain, from the coordinator: one per entry, in order, none skipped. Absent only if the coordinator could not be reached when a read was recorded',
    }),
    prev: z.string().optional().openapi({
      description:
        "The previous entry's link in the chain ('' for the first): see docs/auditors.md, \"The chain\"",
    }),
    released: z.strictObject({ certificate_id: z.string(), team: z.string() }).optional().openapi({
      description:
        'An owner record dropped because the upstream no longer has the certificate (it answered 1472): the team whose CA quota slot it freed',
    }),
    quota_override: z
      .strictObject({ team: z.string(), quota: z.number().int(), held: z.number().int() })
      .optional()
      .openapi({
        description:
          'An assign that took a team past its CA quota because the admin sent override_quota: the team, its quota and the CA certificates it held before',
      }),
    // Issue 21: how a read was served.
    served: z.string().optional().openapi({
      description:
        'How a list or get was served: "snapshot r<revision> age <n>s" (with "stale" when past its max age), or "upstream" (with "stored r<revision>" when the answer refreshed the snapshot)',
    }),
    lifecycle: lifecycleSchema.optional(), // issue 23
    // Issue 20: a policy change (proposal, approval, rejection, rollback): never a key, only ids.
    policy_change: z
      .strictObject({
        proposal: z.string(),
        // control-api: 'bootstrap', the POLICY secret stored as the first revision (before: none).
        kind: z.enum(['apply', 'rollback', 'bootstrap']),
        verdict: z.enum(['propose', 'approve', 'reject', 'bootstrap']),
        before: z.string(),
        after: z.string(),
        summary: z.string(),
      })
      .optional()
      .openapi({
        description:
          "A policy change: the proposal, what was done to it, the revision it applies on (before) and the one it makes current (after), and the diff's summary. In the full entry only (not the KV summary)",
      }),
    // Issue 20: what a what-if replay needs to decide the request again.
    decided_on: z
      .strictObject({
        roles: z.array(z.string()),
        owner: z.enum(['team', 'unowned']).optional(),
        owner_team: z.string().optional(),
        ca: z.boolean().optional(),
        has_associations: z.boolean().optional(),
        expires_on: z.string().optional(),
      })
      .optional()
      .openapi({
        description:
          "What the decision was made on: the caller's roles and the certificate's facts (owner absent: the collection; `team` with owner_team, or `unowned`). Also in the KV summary (short `do`), so the what-if replay reads it from list() alone",
      }),
    // Issue 20, slice 4: a member key minted, rotated or revoked: its public id, never the key or
    // its hash.
    key_change: z
      .strictObject({
        verb: z.enum(['mint', 'rotate', 'revoke']),
        key_id: z.string(),
        member: z.string(),
        team: z.string(),
        roles: z.array(z.string()),
        expires_at: z.string(),
        replaced_key_id: z.string().optional(),
        replaced_until: z.string().optional(),
      })
      .optional()
      .openapi({
        description:
          'A member key minted, rotated or revoked (docs/policy.md, "Members and keys"): the key\'s public id (never the key or its hash), whose it is, its roles and expiry; for a rotation, the key it replaces and when that one stops. In the full entry only (not the KV summary)',
      }),
    // Issue 20: the policy revision that decided the request.
    policy_revision: z.string().optional().openapi({
      description:
        'The id of the policy revision the request was decided under: the SHA-256 of its canonical JSON (docs/policy.md, "Revisions"). Covered by the chain\'s link. Absent on entries written before revisions were recorded, and on summaries',
    }),
    // Issue 22: the certificate an entry is about, as the gateway knew it (ledger, upload, or what
    // the operation fetched); its owning team is one of the entry's parties (`touches`).
    certificate_ca: z.boolean().optional().openapi({
      description:
        'Whether the certificate is a CA (true) or a leaf (false), as the gateway knew it',
    }),
    certificate_team: z.string().optional().openapi({
      description:
        'The team that owned the certificate when the request was made (none: unowned or unknown)',
    }),
    // Issue 22 (review-audit): reads apart from changes, and the console's own page views.
    read_only: z.literal(true).optional().openapi({
      description:
        "The request only read (GET): what the query's `changes_only=true` leaves out (CloudTrail's read-only events)",
    }),
    page_view: z.literal(true).optional().openapi({
      description:
        'A page of the review console opened (a read): the query leaves these out unless asked (`page_views`)',
    }),
  })
  .openapi('AuditEntry')

export type AuditEntry = z.output<typeof auditEntrySchema>

/** What is kept of a field beyond the entry itself (CONTRIBUTING "How to add a field"). */
interface FieldRow {
  /** Its name in the KV summary, when it is copied there as it is (`summarize`, `expand`). */
  short?: string
  /** The chain's link commits to it: known when a pending entry is written, never changed. */
  head?: true
  /** Its label on the console's entry page; a field without one is not shown there. */
  label?: string
}

/**
 * Every field of the entry, in the schema's order, with what is kept of it beyond the entry: the
 * compiler refuses a field of the schema without its row here. The summary's scalar fields, the
 * chain's head fields (chain.ts) and the console's entry page follow this table; the CSV columns
 * follow the schema (export.ts). The structured fields (decision, approval, ...) are summarized by
 * `summarize` and `expand` below, under the short names `StructuredSummary` declares.
 */
export const ENTRY_FIELDS = {
  time: { head: true, label: 'Time' },
  id: { head: true },
  kind: { head: true },
  request_id: { head: true, label: 'Request id' },
  member: { short: 'm', head: true, label: 'Member' },
  team: { short: 'tm', head: true, label: 'Team' },
  via: { short: 'via', head: true, label: 'Authenticated by' },
  action: { short: 'a', head: true, label: 'Action' },
  account_id: { short: 'ac', head: true, label: 'Account' },
  // Not in the head: an upload learns its id only from the upstream's answer.
  certificate_id: { short: 'c', label: 'Certificate' },
  certificate_name: { short: 'n' },
  fingerprint_sha256: { short: 'fp', head: true, label: 'SHA-256 fingerprint' },
  serial_number: { short: 'sn', head: true, label: 'Serial number' },
  decision: { label: 'Decision' },
  approval: { label: 'Approval' },
  adopted: {},
  assigned: {},
  outcome: { label: 'Outcome' },
  latency_ms: { label: 'Latency' },
  upstream_attempts: { label: 'Upstream calls' },
  suppressed: {},
  truncated: {},
  chain: { short: 'ch' },
  seq: { short: 'q' },
  prev: { short: 'pv' },
  released: {},
  quota_override: {},
  // Issue 21.
  served: { short: 'sv', label: 'Served from' },
  // Known when written and never changed, so the chain's link commits to it; its renderer is in
  // console/entry-facts.tsx.
  lifecycle: { head: true, label: 'Certificate lifecycle' },
  // Issue 20: known before the change is made, so the pending entry's link commits to both.
  policy_change: { head: true, label: 'Policy change' },
  decided_on: {},
  // Known before the change is made; its renderer is in console/entry-facts.tsx.
  key_change: { head: true, label: 'Key change' },
  policy_revision: { short: 'pr', head: true, label: 'Policy revision' },
  // Issue 22.
  certificate_ca: { short: 'cca', label: 'CA or leaf' },
  certificate_team: { short: 'ct', label: 'Owning team' },
  // Issue 22 (review-audit): known from the route when the request arrives, never changed.
  read_only: { short: 'ro', head: true },
  page_view: { short: 'pg', head: true },
} as const satisfies { [F in keyof Required<AuditEntry>]: FieldRow }

type Rows = typeof ENTRY_FIELDS
type Field = keyof Rows
/** The fields copied to the summary as they are, and the short name of each. */
type ScalarField = { [F in Field]: Rows[F] extends { short: string } ? F : never }[Field]
type ShortOf<F extends ScalarField> = Rows[F] extends { short: infer S extends string } ? S : never

const fieldsWith = <K extends keyof FieldRow>(key: K) =>
  (Object.keys(ENTRY_FIELDS) as Field[]).filter((field) => key in ENTRY_FIELDS[field])

/** The scalar fields and their short names, in the schema's order. */
const SCALARS = fieldsWith('short').map(
  (field) => [field, (ENTRY_FIELDS[field] as FieldRow).short!] as [ScalarField, string],
)

/** The fields a chain's link commits to (chain.ts), in the schema's order. */
export const HEAD_FIELDS = fieldsWith('head')

/** The fields the console's entry page shows, in the schema's order, with their labels. */
export const PAGE_FIELDS = fieldsWith('label').map(
  (field) => [field, (ENTRY_FIELDS[field] as FieldRow).label!] as const,
)

export function classify(facts: RequestFacts, status: number): OutcomeClass {
  // A parked delete was allowed so far, but nothing was deleted: it reads as parked (issue 22),
  // whichever form it was answered in (403 or 202).
  if (facts.outcome?.codes.includes(ERROR_CODES.APPROVAL_REQUIRED.code)) return 'parked'
  if (facts.approval !== undefined && facts.action === 'delete' && status === 202) return 'parked'
  if (status < 400) return 'allowed'
  if (status === 401) return 'unauthenticated'
  if (status === 403 || facts.decision?.effect === 'deny') return 'denied'
  if (facts.upstreamFailed) return 'upstream_error'
  // The gateway's own limits (the team's budget, the breaker) refused before any call.
  if (status === 429) return 'denied'
  return status >= 500 ? 'gateway_error' : 'invalid'
}

/** The entry for a request: `pending` before a mutation is forwarded, final once answered. */
export function entryFromFacts(facts: RequestFacts, id: string, time: number, now: number) {
  const { principal, certificate, decision, outcome, approval, adopted, assigned } = facts
  const { released, quotaOverride, subject } = facts
  const entry: AuditEntry = {
    kind: 'request',
    id,
    time: new Date(time).toISOString(),
    request_id: facts.requestId,
    member: principal?.memberId,
    team: principal?.teamId,
    via: principal?.via,
    action: facts.performed ?? facts.action,
    account_id: facts.accountId,
    certificate_id: facts.certificateId,
    certificate_name: certificate?.name ?? subject?.name ?? undefined,
    fingerprint_sha256: certificate?.fingerprintSha256 ?? subject?.fingerprintSha256,
    serial_number: certificate?.serialNumber,
    decision: decision && {
      effect: decision.effect,
      rule_ids: decision.ruleIds,
      reason: decision.reason,
      shadow: decision.shadow && {
        effect: decision.shadow.effect,
        rule_ids: decision.shadow.ruleIds,
      },
    },
    approval: approval && {
      id: approval.id,
      requested_by: approval.requestedBy,
      approved_by: approval.approvedBy,
      reason: approval.reason,
    },
    adopted: adopted && adopted.length > 0 ? adopted : undefined,
    assigned: assigned && {
      team: assigned.team,
      previous_team: assigned.previousTeam ?? undefined,
    },
    outcome: outcome
      ? {
          class: classify(facts, outcome.status),
          status: outcome.status,
          error_codes: outcome.codes,
        }
      : { class: 'pending', error_codes: [] },
    latency_ms: outcome ? now - facts.startedAt : undefined,
    upstream_attempts: facts.upstreamAttempts,
    released,
    quota_override: quotaOverride,
    served: servedText(facts.served),
    // Issue 20
    policy_change: facts.policyChange,
    key_change: facts.keyChange && { ...facts.keyChange, roles: [...facts.keyChange.roles] },
    decided_on: facts.decidedOn && {
      roles: [...facts.decidedOn.roles],
      ...(facts.decidedOn.facts !== undefined
        ? {
            owner: facts.decidedOn.facts.ownerTeam === null ? 'unowned' : 'team',
            owner_team: facts.decidedOn.facts.ownerTeam ?? undefined,
            ca: facts.decidedOn.facts.ca,
            has_associations: facts.decidedOn.facts.hasAssociations,
            expires_on: facts.decidedOn.facts.expiresOn,
          }
        : {}),
    },
    policy_revision: facts.policyRevision,
    certificate_ca: subject?.ca,
    certificate_team: subject?.ownerTeam ?? undefined,
    // Issue 22 (review-audit).
    read_only: facts.readOnly === true ? true : undefined,
    page_view: facts.pageView === true ? true : undefined,
  }
  return withoutUndefined(entry)
}

/** Issue 21: the `served` field's text (record.ts `Served`). */
function servedText(served: RequestFacts['served']): string | undefined {
  if (served === undefined) return undefined
  if (served.via === 'upstream') {
    return served.revision === undefined ? 'upstream' : `upstream, stored r${served.revision}`
  }
  const stale = served.stale === true ? ' stale' : ''
  return `snapshot r${served.revision ?? 0} age ${served.ageSeconds ?? 0}s${stale}`
}

export function suppressedEntry(id: string, time: number, suppressed: Suppressed): AuditEntry {
  return withoutUndefined({
    kind: 'suppressed',
    id,
    time: new Date(time).toISOString(),
    outcome: { class: 'unauthenticated', error_codes: [] },
    upstream_attempts: 0,
    suppressed,
  })
}

/**
 * A member's refusals over their rate (identity/member-rate.ts) that were counted, not recorded:
 * one entry naming the member, so the member and team filters find it.
 */
export function memberSuppressedEntry(
  id: string,
  time: number,
  who: { memberId: string; teamId: string; via: string },
  suppressed: Suppressed,
): AuditEntry {
  return withoutUndefined({
    kind: 'suppressed',
    id,
    time: new Date(time).toISOString(),
    member: who.memberId,
    team: who.teamId,
    via: who.via,
    outcome: {
      class: 'denied',
      status: 429,
      error_codes: [ERROR_CODES.MEMBER_RATE_EXCEEDED.code],
    },
    upstream_attempts: 0,
    suppressed,
  })
}

/** The summary's structured fields, each under short names of its own. */
type StructuredSummary = {
  k: 'r' | 's' | (typeof LIFECYCLE_SHORT)[LifecycleKind]
  t: number
  id: string
  d?: 'allow' | 'deny'
  dr?: string[]
  sd?: 'allow' | 'deny'
  sr?: string[]
  /** Approval: [id, requested_by, approved_by?, reason?] ('' for no approver before a reason). */
  ap?: string[]
  /** Adoptions: [certificate_id, team] each. */
  ad?: [string, string][]
  /** Assignment: [team, previous_team?]. */
  as?: string[]
  /** Released as gone upstream: [certificate_id, team]. */
  rl?: [string, string]
  /** Quota override of an assign: [team, quota, held]. */
  qo?: [string, number, number]
  o: OutcomeClass
  s?: number
  e?: number[]
  l?: number
  u: number
  x?: Suppressed
  tr?: 1
  /** Issue 23: the lifecycle facts, whole (a few short strings). */
  lc?: LifecycleFacts
  /**
   * control-api: `decided_on`, so the what-if replay reads it from list() alone: the roles, and
   * the certificate's facts when there was one (absent: the collection). Dropped by `fit` last.
   */
  do?: {
    r: string[]
    /** The owner team, '' when unowned. */
    o?: string
    ca?: 0 | 1
    as?: 0 | 1
    ex?: string
  }
}

/**
 * The KV metadata form. Short names because every byte counts against KV's 1024: the scalar
 * fields' from `ENTRY_FIELDS`, the structured ones' from `StructuredSummary`.
 */
export type Summary = StructuredSummary & {
  [F in ScalarField as ShortOf<F>]?: NonNullable<AuditEntry[F]>
}

export function summarize(entry: AuditEntry): Summary {
  const summary: Summary = {
    k:
      entry.kind === 'request'
        ? 'r'
        : entry.kind === 'suppressed'
          ? 's'
          : LIFECYCLE_SHORT[entry.kind],
    t: Date.parse(entry.time),
    id: entry.id,
    o: entry.outcome.class,
    u: entry.upstream_attempts,
  }
  const scalars: Record<string, unknown> = summary
  for (const [long, short] of SCALARS) if (entry[long] !== undefined) scalars[short] = entry[long]
  if (entry.decision) {
    summary.d = entry.decision.effect
    summary.dr = entry.decision.rule_ids
    if (entry.decision.shadow) {
      summary.sd = entry.decision.shadow.effect
      summary.sr = entry.decision.shadow.rule_ids
    }
  }
  if (entry.approval) {
    const { id, requested_by, approved_by, reason } = entry.approval
    summary.ap = approved_by === undefined ? [id, requested_by] : [id, requested_by, approved_by]
    // Issue 22.
    if (reason !== undefined) summary.ap = [id, requested_by, approved_by ?? '', reason]
  }
  if (entry.adopted) summary.ad = entry.adopted.map((a) => [a.certificate_id, a.team])
  if (entry.assigned) {
    const { team, previous_team } = entry.assigned
    summary.as = previous_team === undefined ? [team] : [team, previous_team]
  }
  if (entry.released) summary.rl = [entry.released.certificate_id, entry.released.team]
  if (entry.quota_override) {
    const { team, quota, held } = entry.quota_override
    summary.qo = [team, quota, held]
  }
  if (entry.outcome.status !== undefined) summary.s = entry.outcome.status
  if (entry.outcome.error_codes.length > 0) summary.e = entry.outcome.error_codes
  if (entry.latency_ms !== undefined) summary.l = entry.latency_ms
  if (entry.suppressed) summary.x = entry.suppressed
  if (entry.lifecycle) summary.lc = entry.lifecycle // issue 23
  // control-api: what the decision was made on (what-if replay).
  if (entry.decided_on) {
    const on = entry.decided_on
    summary.do = { r: on.roles }
    if (on.owner !== undefined) summary.do.o = on.owner === 'unowned' ? '' : (on.owner_team ?? '')
    if (on.ca !== undefined) summary.do.ca = on.ca ? 1 : 0
    if (on.has_associations !== undefined) summary.do.as = on.has_associations ? 1 : 0
    if (on.expires_on !== undefined) summary.do.ex = on.expires_on
  }
  return summary
}

function kindOfShort(k: Summary['k']): AuditEntry['kind'] {
  if (k === 'r') return 'request'
  if (k === 's') return 'suppressed'
  return LIFECYCLE_KINDS.find((kind) => LIFECYCLE_SHORT[kind] === k)!
}

export function expand(summary: Summary): AuditEntry {
  const entry: AuditEntry = {
    kind: kindOfShort(summary.k),
    id: summary.id,
    time: new Date(summary.t).toISOString(),
    outcome: { class: summary.o, status: summary.s, error_codes: summary.e ?? [] },
    upstream_attempts: summary.u,
  }
  if (summary.k === 'r') entry.request_id = summary.id
  const scalars: Record<string, unknown> = summary
  const fields: Record<string, unknown> = entry
  for (const [long, short] of SCALARS)
    if (scalars[short] !== undefined) fields[long] = scalars[short]
  if (summary.d) {
    entry.decision = { effect: summary.d, rule_ids: summary.dr ?? [] }
    if (summary.sd) entry.decision.shadow = { effect: summary.sd, rule_ids: summary.sr ?? [] }
  }
  if (summary.ap) {
    const [id, requested_by, approved_by, reason] = summary.ap
    entry.approval = {
      id: id!,
      requested_by: requested_by!,
      ...(approved_by ? { approved_by } : {}),
      ...(reason !== undefined ? { reason } : {}),
    }
  }
  if (summary.ad) {
    entry.adopted = summary.ad.map(([certificate_id, team]) => ({ certificate_id, team }))
  }
  if (summary.as) {
    const [team, previous_team] = summary.as
    entry.assigned = { team: team!, ...(previous_team ? { previous_team } : {}) }
  }
  if (summary.rl) entry.released = { certificate_id: summary.rl[0], team: summary.rl[1] }
  if (summary.qo) {
    const [team, quota, held] = summary.qo
    entry.quota_override = { team, quota, held }
  }
  if (summary.l !== undefined) entry.latency_ms = summary.l
  if (summary.x) entry.suppressed = summary.x
  if (summary.tr) entry.truncated = true
  if (summary.lc) entry.lifecycle = summary.lc // issue 23
  // control-api: decided_on back from its summary (what-if replay).
  if (summary.do) {
    const { r, o, ca, as, ex } = summary.do
    entry.decided_on = {
      roles: r,
      ...(o === undefined
        ? {}
        : o === ''
          ? { owner: 'unowned' }
          : { owner: 'team', owner_team: o }),
      ...(ca === undefined ? {} : { ca: ca === 1 }),
      ...(as === undefined ? {} : { has_associations: as === 1 }),
      ...(ex === undefined ? {} : { expires_on: ex }),
    }
  }
  return withoutUndefined(entry)
}

/** KV's limit on metadata, serialised as JSON. */
export const MAX_METADATA_BYTES = 1024
/** Room kept for what the store adds next to the summary: value hash, signature, seal. */
const RESERVED_METADATA_BYTES = 160

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length

/**
 * Cuts the only unbounded fields (a caller-chosen name up to 255 characters, rule id lists, error
 * codes, one per invalid field a caller chose to send) until the summary fits; the full values
 * stay in the entry itself (the KV value). A caller must not be able to make an entry too big to
 * write, so the last step always fits.
 */
export function fit(summary: Summary): Summary {
  const budget = MAX_METADATA_BYTES - RESERVED_METADATA_BYTES
  for (const [name, rules, codes] of [
    [64, 8, 16],
    [16, 2, 4],
    [0, 0, 1],
  ] as const) {
    if (bytes(summary) <= budget) return summary
    summary = { ...summary, tr: 1 }
    if (summary.n !== undefined) summary.n = [...summary.n].slice(0, name).join('')
    // Issue 22: an approval's reason, as long as a caller chose, is cut like a name.
    if (summary.ap?.[3] !== undefined) {
      summary.ap = [...summary.ap.slice(0, 3), [...summary.ap[3]].slice(0, name).join('')]
    }
    if (summary.dr) summary.dr = summary.dr.slice(0, rules)
    if (summary.sr) summary.sr = summary.sr.slice(0, rules)
    if (summary.e) summary.e = summary.e.slice(0, codes)
    if (summary.ad) summary.ad = summary.ad.slice(0, rules)
    // control-api: a summary that still does not fit loses decided_on (the entry keeps it whole);
    // the replay then counts that entry as not replayable, never decides it on a cut role list.
    if (codes === 1 && bytes(summary) > budget) delete summary.do
  }
  if (bytes(summary) > budget) throw new Error(`audit summary of ${bytes(summary)} bytes`)
  return summary
}

function withoutUndefined<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

/**
 * Who and what an entry concerns, besides its caller: see the file comment. Read off the summary
 * (what list() returns), because the query asks it of every event in its range.
 */
export function touches(summary: Summary): {
  teams: string[]
  members: string[]
  certificates: string[]
} {
  const teams = summary.tm === undefined ? [] : [summary.tm]
  const members = summary.m === undefined ? [] : [summary.m]
  const certificates = summary.c === undefined ? [] : [summary.c]
  for (const [certificate, team] of summary.ad ?? []) {
    certificates.push(certificate)
    teams.push(team)
  }
  if (summary.as) teams.push(...summary.as)
  if (summary.rl) {
    certificates.push(summary.rl[0])
    teams.push(summary.rl[1])
  }
  if (summary.ap?.[1] !== undefined) members.push(summary.ap[1])
  if (summary.lc && summary.c === undefined) certificates.push(summary.lc.certificate_id)
  // Issue 22: the approver of an approved delete, and the team that owned the certificate.
  if (summary.ap?.[2]) members.push(summary.ap[2])
  if (summary.ct !== undefined) teams.push(summary.ct)
  return { teams, members, certificates }
}
