/**
 * Owns: the emulated account audit log (Audit Logs v2, `GET /accounts/{account_id}/logs/audit`,
 * contract §7), as far as the mTLS certificate store writes to it: one entry per successful
 * create or delete, naming who made it. Changes through the emulated API are made by the one
 * token the emulator accepts (`EMULATOR_TOKEN_ACTOR`); changes "from outside" (another token, the
 * dashboard) come through the control API with the actor the test names (control-routes.ts).
 *
 * Shapes follow cloudflare-typescript `src/resources/accounts/logs/audit.ts`: `id`, `account`,
 * `action {description, result, time, type}`, `actor {id, context, email, ip_address, token_id,
 * token_name, type}`, `raw {cf_ray_id, method, status_code, uri, user_agent}`, `resource {id,
 * product, scope, type}`. The product and type strings for mTLS certificates were not found in an
 * authoritative source (contract §7 [?]): `ssl_tls` / `mtls_certificate` are chosen here, and the
 * gateway matches on `resource.id` only. Kept in module memory like the rest; `reset` wipes it.
 */
import { emulatorNow } from './clock'

export type Actor = {
  id?: string
  context: 'api_key' | 'api_token' | 'dash' | 'oauth' | 'origin_ca_key'
  email?: string
  ip_address?: string
  token_id?: string
  token_name?: string
  type: 'account' | 'cloudflare_admin' | 'system' | 'user'
}

/** Who the emulator's own API token is (the gateway's writes). */
export const EMULATOR_TOKEN_ACTOR: Actor = Object.freeze({
  id: 'f1e2d3c4b5a697887766554433221100',
  context: 'api_token',
  email: 'platform@example.com',
  ip_address: '192.0.2.10',
  token_id: 'emulator-upstream-token-id',
  token_name: 'mtls-gateway',
  type: 'user',
})

export type AuditLogEntry = {
  id: string
  account: { id: string; name: string }
  action: { description: string; result: 'success' | 'failure'; time: string; type: string }
  actor: Actor
  raw: { cf_ray_id: string; method: string; status_code: number; uri: string; user_agent: string }
  resource: { id: string; product: string; scope: string; type: string }
  zone: Record<string, never>
}

const entries: AuditLogEntry[] = []

export function recordChange(change: {
  accountId: string
  type: 'create' | 'delete'
  certificateId: string
  actor: Actor
  method: string
  uri: string
  userAgent?: string
}): AuditLogEntry {
  const entry: AuditLogEntry = {
    id: crypto.randomUUID(),
    account: { id: change.accountId, name: 'Emulated account' },
    action: {
      description: `${change.type === 'create' ? 'Created' : 'Deleted'} mTLS certificate`,
      result: 'success',
      time: new Date(emulatorNow()).toISOString(),
      type: change.type,
    },
    actor: { ...change.actor },
    raw: {
      cf_ray_id: crypto.randomUUID().replaceAll('-', '').slice(0, 16),
      method: change.method,
      status_code: 200,
      uri: change.uri,
      user_agent: change.userAgent ?? '',
    },
    resource: {
      id: change.certificateId,
      product: 'ssl_tls',
      scope: 'accounts',
      type: 'mtls_certificate',
    },
    zone: {},
  }
  entries.push(entry)
  return entry
}

/** `since` / `before`: a date (`2019-04-30`, UTC) or an RFC 3339 time; NaN if neither. */
export function parseLogTime(value: string): number {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Date.parse(value)
}

/** The account's entries in [since, before), newest first unless `asc`. */
export function auditLogOf(
  accountId: string,
  query: { sinceMs: number; beforeMs: number; asc: boolean },
): AuditLogEntry[] {
  const found = entries.filter((e) => {
    const time = Date.parse(e.action.time)
    return e.account.id === accountId && time >= query.sinceMs && time < query.beforeMs
  })
  return query.asc ? found : found.reverse()
}

export function resetAuditLog(): void {
  entries.length = 0
}
