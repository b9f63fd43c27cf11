/**
 * The audit's hash chain. Each entry belongs to one chain (its account's, or `gateway` for entries
 * that name no account) and carries its number there (`seq`) and the previous entry's link
 * (`prev`); its own link is
 *
 *   link(n) = SHA-256("mtls-gateway-audit-chain/v1\n" chain "\n" n "\n" prev "\n" kvKey "\n"
 *                     canonical(head))
 *
 * where `head` is what the entry says happened, and never changes between its pending and its final
 * version: when, the request, who, what (`HEAD_FIELDS`, the fields marked `head` in entry.ts). Not
 * the outcome, which arrives later, nor the certificate id, which an upload learns only from the
 * upstream's answer: both are covered by the entry's signature (signing.ts), checked on every
 * entry too. So entry n commits to entry
 * n-1 and, through it, to everything before: an entry deleted, reordered or edited breaks the links
 * after it, and the coordinator (coordinator/chain.ts) keeps every link and the chain's head, so
 * that the last entries cannot go unnoticed either. A signed checkpoint is a head an auditor keeps
 * outside Cloudflare (checkpoint.ts).
 *
 * Pure WebCrypto: the Worker, the coordinator and the offline verifier share it.
 */
import { base64url } from '../lib/encoding'
import { HEAD_FIELDS } from './entry'
import { canonical } from './signing'
import type { ChainPosition } from './position'

export type { ChainAsk, ChainPosition } from './position'

type Head = Partial<Record<(typeof HEAD_FIELDS)[number], unknown>>

export function headOf(entry: Head): Head {
  const head: Head = {}
  for (const field of HEAD_FIELDS) if (entry[field] !== undefined) head[field] = entry[field]
  return head
}

/**
 * The entry with the head its chain link committed to: a numbered entry's head fields are those it
 * had when it was numbered, and what the request learned of them afterwards (a delete numbered in
 * its owner step learns the certificate's fingerprint later) stays out of them, or the link would
 * no longer verify. Fields outside the head (the certificate's name, CA or leaf, owner) are kept.
 */
export function withHead<E extends Head>(entry: E, head: Head): E {
  const fixed: Record<string, unknown> = { ...entry }
  for (const field of HEAD_FIELDS) {
    if (head[field] === undefined) delete fixed[field]
    else fixed[field] = head[field]
  }
  return fixed as E
}

const encoder = new TextEncoder()

export async function linkOf(position: ChainPosition, kvKey: string, head: Head): Promise<string> {
  const text = `mtls-gateway-audit-chain/v1\n${position.chain}\n${position.seq}\n${position.prev}\n${kvKey}\n${canonical(headOf(head))}`
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}
