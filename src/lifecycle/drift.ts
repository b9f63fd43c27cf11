/**
 * Drift (issue 23): certificates that appeared or vanished upstream without a request through the
 * gateway, and who made the change.
 *
 * `driftBetween(previous, current, ledger)` is pure, so whatever refreshes the account's list (the
 * expiry watch's list, read from the snapshot: drift between two watch runs) can call it on the two lists it
 * holds:
 *   - appeared: in the current list, not in the previous one, and no team owns it in the ledger
 *     (an upload through the gateway records its owner before it answers);
 *   - vanished: in the previous list, not in the current one, and the ledger still names its owner
 *     (a delete through the gateway releases the owner when the upstream confirms it), unless the
 *     caller knows the gateway deleted it (`gatewayDeleted`, from its own audit entries). An
 *     unowned certificate that vanished is not reported: the ledger cannot tell the gateway's
 *     delete of it (by an admin) from another's; `gatewayDeleted` would let it.
 *
 * `attribute(drift, page)` then names who made each change from one page of the account's audit
 * log (Audit Logs v2, contract §7: matched on `resource.id` and the action type), and
 * `auditLogRequest` is that one page: since a little before the previous list, newest first, at
 * most 1,000 entries, one request of the budget per refresh that found drift.
 */
import { z } from '@hono/zod-openapi'
import type { UpstreamRequest } from '../upstream/request'
import type { MtlsCertificate } from '../upstream/shapes'
import type { CertificateList } from './certificate-source'

export interface Drift {
  certificate_id: string
  change: 'appeared' | 'vanished'
  /** The owning team (vanished), or null: the platform is told. */
  team: string | null
  certificate: MtlsCertificate
}

export interface DriftLedger {
  owners: ReadonlyMap<string, string>
  gatewayDeleted?: ReadonlySet<string>
}

export function driftBetween(
  previous: CertificateList | undefined,
  current: CertificateList,
  ledger: DriftLedger,
): Drift[] {
  if (previous === undefined) return []
  const before = new Map(previous.certificates.map((c) => [c.id, c]))
  const now = new Map(current.certificates.map((c) => [c.id, c]))
  const drift: Drift[] = []
  for (const [id, certificate] of now) {
    if (!before.has(id) && !ledger.owners.has(id)) {
      drift.push({ certificate_id: id, change: 'appeared', team: null, certificate })
    }
  }
  for (const [id, certificate] of before) {
    const team = ledger.owners.get(id)
    if (now.has(id) || team === undefined || ledger.gatewayDeleted?.has(id)) continue
    drift.push({ certificate_id: id, change: 'vanished', team, certificate })
  }
  return drift
}

/** An Audit Logs v2 entry, as far as attribution reads it (loose: the API may add fields). */
const auditLogEntry = z.looseObject({
  action: z.looseObject({ type: z.string().optional(), time: z.string().optional() }).optional(),
  actor: z
    .looseObject({
      context: z.string().optional(),
      type: z.string().optional(),
      email: z.string().optional(),
      token_id: z.string().optional(),
      token_name: z.string().optional(),
    })
    .optional(),
  resource: z.looseObject({ id: z.string().optional() }).optional(),
})
export type AuditLogEntry = z.output<typeof auditLogEntry>
const auditLogPage = z.array(auditLogEntry)

/** How far before the previous list the page starts: a change just before it is still drift. */
const LOOKBACK_MS = 5 * 60_000

/** One page of the account's audit log covering the interval between the two lists. */
export function auditLogRequest(
  accountId: string,
  sinceMs: number,
  beforeMs: number,
): UpstreamRequest<AuditLogEntry[]> {
  const query = new URLSearchParams({
    since: new Date(sinceMs - LOOKBACK_MS).toISOString(),
    before: new Date(beforeMs + 60_000).toISOString(),
    direction: 'desc',
    limit: '1000',
  })
  return {
    method: 'GET',
    path: `/accounts/${accountId}/logs/audit`,
    query: query.toString(),
    result: {
      check(value) {
        const parsed = auditLogPage.safeParse(value)
        return parsed.success
          ? { ok: true, value: parsed.data }
          : { ok: false, problem: 'result: not a list of audit log entries' }
      },
    },
  }
}

export interface Actor {
  context: string
  type?: string
  email?: string
  token_id?: string
  token_name?: string
  at?: string
}

/** Who made each change: the newest matching entry of the page, or undefined if none matched. */
export function attribute(drift: readonly Drift[], page: readonly AuditLogEntry[]) {
  return drift.map((d) => {
    const type = d.change === 'appeared' ? 'create' : 'delete'
    const entry = page.find((e) => e.resource?.id === d.certificate_id && e.action?.type === type)
    const actor: Actor | undefined =
      entry?.actor === undefined
        ? undefined
        : JSON.parse(
            JSON.stringify({
              context: entry.actor.context ?? 'unknown',
              type: entry.actor.type,
              email: entry.actor.email,
              token_id: entry.actor.token_id,
              token_name: entry.actor.token_name,
              at: entry.action?.time,
            }),
          )
    return { ...d, actor }
  })
}
