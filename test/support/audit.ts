/**
 * Reading the audit log from tests, straight from the AUDIT binding (not through the gateway), and
 * the secret scan every audit test file runs over everything it wrote.
 */
import { env } from 'cloudflare:test'
import { expect } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { exampleKeyLine } from '../kit/fixtures'
import { AUDIT_ED25519_JWK, AUDIT_SIGNING_KEY, KEYS, UPSTREAM_TOKEN } from './identities'

export interface StoredKey {
  name: string
  value: string | null
  metadata: unknown
}

/** Every key in the AUDIT namespace, with its value and metadata. */
export async function auditKeys(kv: KVNamespace = env.AUDIT): Promise<StoredKey[]> {
  const keys: StoredKey[] = []
  let cursor: string | undefined
  do {
    const page: KVNamespaceListResult<unknown, string> = await kv.list({
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    })
    for (const key of page.keys) {
      const { value, metadata } = await kv.getWithMetadata(key.name)
      keys.push({ name: key.name, value, metadata: metadata ?? key.metadata })
    }
    cursor = page.list_complete ? undefined : page.cursor
  } while (cursor)
  return keys
}

/** The full entries (KV values) of the event keys, newest first. */
export async function auditEntries(): Promise<AuditEntry[]> {
  return (await auditKeys())
    .filter((key) => key.name.startsWith('v1:e:'))
    .map((key) => JSON.parse(key.value!) as AuditEntry)
}

export async function eventNames(): Promise<Set<string>> {
  return new Set((await auditKeys()).filter((k) => k.name.startsWith('v1:e:')).map((k) => k.name))
}

/** Runs `action` and returns the entries of the event keys it created (pending ones included). */
export async function newEntries(action: () => Promise<unknown>): Promise<AuditEntry[]> {
  const before = await eventNames()
  await action()
  return (await auditEntries()).filter(
    (entry) => ![...before].some((name) => name.endsWith(`:${entry.id}`)),
  )
}

/** Strings that must never reach the audit log, whatever the request. */
export const SECRETS = [
  UPSTREAM_TOKEN,
  AUDIT_SIGNING_KEY,
  AUDIT_ED25519_JWK.d,
  ...Object.values(KEYS),
  'PRIVATE KEY',
  'BEGIN CERTIFICATE',
  exampleKeyLine,
]

/** Secrets a test file made up as it ran (Access tokens, say), for the scan at its end. */
const registered: string[] = []
export function registerSecret(secret: string): string {
  registered.push(secret)
  return secret
}

/**
 * Scans every key, value and metadata in the namespace for `SECRETS`, the registered ones and
 * `extra`. test/setup.ts runs it after every test file of the gateway project, so every entry the
 * whole suite writes is scanned (storage is per file).
 */
export async function expectNoSecretsInAudit(extra: string[] = [], { requireEntries = true } = {}) {
  const keys = await auditKeys()
  if (requireEntries) expect(keys.length).toBeGreaterThan(0)
  const text = JSON.stringify(keys)
  for (const secret of registered) expect(text).not.toContain(secret)
  for (const secret of [...SECRETS, ...extra]) expect(text).not.toContain(secret)
  // Also the keys' hashes' raw forms and any bearer value: nothing that looks like a gateway key.
  expect(text).not.toMatch(/mtlsgw_[A-Za-z0-9_-]{20}/)
}

/** A streamed export's body as text (workerd warns when .text() reads a non-text content type). */
export async function exportText(response: Response): Promise<string> {
  return new TextDecoder().decode(await response.arrayBuffer())
}
