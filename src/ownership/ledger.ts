/**
 * The ownership ledger: which team owns which certificate. The upstream object has no owner field,
 * so this KV namespace (binding LEDGER) is the only record of it. Handlers never touch raw KV.
 *
 * Key layout (all keys versioned so the layout can change without a migration in place):
 *   owner:v1:<account_id>:<certificate_id>   value: Ownership (JSON)   metadata: { team }
 *       one key per owned certificate; a certificate with no key is unowned. The team is in the
 *       metadata so that one list() per 1000 certificates gives the owners of a whole account.
 *   intent:v1:<account_id>:<bundle sha256>:<request_id>   value/metadata: UploadIntent
 *       written before an upload is forwarded, removed once its outcome is known. It closes the gap
 *       between "the upstream created it" and "the ledger says who owns it": a certificate found
 *       unowned is adopted by the team of the one intent that matches its whole bundle and whose
 *       upload was in flight when the upstream created it (see `reconcile.ts`). The request id in
 *       the key means each upload owns its intent: another team uploading the same PEM neither
 *       overwrites nor clears it. Intents expire after INTENT_TTL_SECONDS; what is still unowned
 *       then needs an admin's `assign`.
 *
 * KV allows one write per second per key and is eventually consistent; every key here is written
 * by one request about one certificate, so no key is read-modified-written concurrently.
 */
import { z } from '@hono/zod-openapi'

export const INTENT_TTL_SECONDS = 7 * 86_400

const ownershipSchema = z.object({
  team: z.string(),
  member: z.string(),
  request_id: z.string(),
  assigned_at: z.string(),
  via: z.enum(['upload', 'assign', 'adopt']),
  ca: z.boolean().optional(),
  expires_on: z.string().optional(),
  fingerprint_sha256: z.string().optional(),
})
export type Ownership = z.infer<typeof ownershipSchema>

const intentSchema = z.object({
  team: z.string(),
  member: z.string(),
  request_id: z.string(),
  at: z.string(),
  ca: z.boolean(),
  expires_on: z.string(),
})
export type UploadIntent = z.infer<typeof intentSchema> & { bundle_sha256: string }

const ownerKey = (account: string, id: string) => `owner:v1:${account}:${id}`
const intentPrefix = (account: string) => `intent:v1:${account}:`
const intentKey = (account: string, bundle: string, requestId: string) =>
  `${intentPrefix(account)}${bundle}:${requestId}`

async function listAll<M>(kv: KVNamespace, prefix: string) {
  const keys: { name: string; metadata: M | undefined }[] = []
  let cursor: string | undefined
  do {
    const page = await kv.list<M>({ prefix, ...(cursor ? { cursor } : {}) })
    for (const key of page.keys) keys.push({ name: key.name, metadata: key.metadata })
    cursor = page.list_complete ? undefined : page.cursor
  } while (cursor)
  return keys
}

export function ledger(kv: KVNamespace) {
  return {
    async owner(account: string, id: string): Promise<Ownership | null> {
      const stored = await kv.get(ownerKey(account, id), 'json')
      if (stored === null) return null
      const parsed = ownershipSchema.safeParse(stored)
      // A ledger entry that does not parse is treated as no entry: nobody but account-wide roles
      // can see the certificate until an admin assigns it again. Fails closed, never open.
      return parsed.success ? parsed.data : null
    },

    /** Owning team per certificate id for a whole account: one list() per 1000 entries. */
    async owners(account: string): Promise<Map<string, string>> {
      const prefix = ownerKey(account, '')
      const keys = await listAll<{ team?: unknown }>(kv, prefix)
      const owners = new Map<string, string>()
      for (const { name, metadata } of keys) {
        if (typeof metadata?.team === 'string') owners.set(name.slice(prefix.length), metadata.team)
      }
      return owners
    },

    async assign(account: string, id: string, ownership: Ownership): Promise<void> {
      await kv.put(ownerKey(account, id), JSON.stringify(ownership), {
        metadata: { team: ownership.team },
      })
    },

    async release(account: string, id: string): Promise<void> {
      await kv.delete(ownerKey(account, id))
    },

    async recordIntent(account: string, intent: UploadIntent): Promise<void> {
      const { bundle_sha256, ...value } = intent
      await kv.put(intentKey(account, bundle_sha256, intent.request_id), JSON.stringify(value), {
        expirationTtl: INTENT_TTL_SECONDS,
        metadata: value,
      })
    },

    async intents(account: string): Promise<UploadIntent[]> {
      const prefix = intentPrefix(account)
      const keys = await listAll<unknown>(kv, prefix)
      return keys.flatMap(({ name, metadata }) => {
        const parsed = intentSchema.safeParse(metadata)
        const bundle = name.slice(prefix.length).split(':')[0]
        return parsed.success && bundle ? [{ ...parsed.data, bundle_sha256: bundle }] : []
      })
    },

    /** Removes one upload's intent, and only that one. */
    async clearIntent(
      account: string,
      intent: Pick<UploadIntent, 'bundle_sha256' | 'request_id'>,
    ): Promise<void> {
      await kv.delete(intentKey(account, intent.bundle_sha256, intent.request_id))
    },
  }
}

export type Ledger = ReturnType<typeof ledger>
