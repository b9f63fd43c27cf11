/**
 * A policy revision (issue 20): one immutable version of the policy document, kept by the
 * coordinator (coordinator/policy-revisions.ts). Its id is the SHA-256 of its canonical JSON
 * (object keys sorted, no whitespace: audit/signing.ts `canonical`), so the same document always
 * has the same id, whoever wrote it and however it was indented, and an auditor holding the
 * document can recompute the id an audit entry names.
 *
 * The document is kept as written (its canonical form), not as parsed: defaults filled in by the
 * parser are not part of what anybody reviewed. It is parsed again wherever it is served.
 */
import { z } from '@hono/zod-openapi'
import { canonical } from '../audit/signing'
import { hex } from '../lib/encoding'

export const REVISION_ID = /^[0-9a-f]{64}$/

export const revisionSchema = z.strictObject({
  id: z.string().regex(REVISION_ID),
  /** The revision it replaced; null for the first one stored. */
  parent: z.string().regex(REVISION_ID).nullable(),
  /** A member id, or `POLICY secret` for the bootstrap and the pinned mode. */
  author: z.string().min(1),
  created_at: z.iso.datetime(),
  reason: z.string(),
  /** The canonical JSON of the document. */
  document: z.string(),
})
export type Revision = z.output<typeof revisionSchema>

/**
 * What an isolate learns when it asks for the current revision: its id (null: none stored yet),
 * and its document only when the asker does not hold it already.
 */
export interface CurrentAnswer {
  id: string | null
  document: string | null
  /** Issue 20, slice 4: the member keys' version (coordinator/member-keys.ts); absent: 0. */
  keysVersion?: number
  /** How many working member keys carry no check value (identity/keys.ts); absent: unknown. */
  uncheckedKeys?: number
  /**
   * True only on the answer to the one call that stored the first revision (a bootstrap): that
   * caller, and no other isolate, puts the bootstrap on the audit chain (control/bootstrap-record.ts).
   */
  bootstrapped?: boolean
}

/** The author recorded for revisions that come from the `POLICY` secret. */
export const SECRET_AUTHOR = 'POLICY secret'

/** The canonical JSON of a document given as text; null when it is not JSON at all. */
export function canonicalDocument(text: string): string | null {
  try {
    return canonical(JSON.parse(text))
  } catch {
    return null
  }
}

/** A canonical document's revision id: lowercase hex SHA-256 of its UTF-8. */
export async function revisionIdOf(canonicalText: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalText)))
}

/** A new revision of `document` (canonical JSON), made by `author` for `reason`. */
export async function newRevision(
  document: string,
  meta: { parent: string | null; author: string; reason: string; now: Date },
): Promise<Revision> {
  return {
    id: await revisionIdOf(document),
    parent: meta.parent,
    author: meta.author,
    created_at: meta.now.toISOString(),
    reason: meta.reason,
    document,
  }
}
