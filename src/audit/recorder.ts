/**
 * The audit port of one request or job (`AuditPort.beforeChange`): a mutation's entry, outcome
 * "pending", chained by the coordinator and written before the mutation goes anywhere; if it cannot
 * be written the mutation is refused (503 AUDIT_UNAVAILABLE) and nothing is forwarded. A request is
 * recorded once, however many changes it makes (an adoption, then a delete). Knows nothing of
 * Hono: the request scope (kernel/scope-for.ts) builds it for requests and jobs alike, and the
 * audit trail (middleware.ts) writes the final entry under the same keys.
 */
import type { AuditChains } from '../coordinator/client'
import { auditChainOf } from '../coordinator/shard'
import { GatewayError } from '../lib/errors'
import { uuidv7Time } from '../lib/uuidv7'
import { headOf, withHead, type ChainPosition } from './chain'
import { entryFromFacts, type AuditEntry } from './entry'
import {
  recordOf,
  type AuditPort,
  type Findings,
  type RecordParts,
  type RequestFacts,
} from './record'
import { eventKeyOf, writeEntry, type StoreSettings } from './store'

export const entryTime = (facts: RequestFacts) => uuidv7Time(facts.requestId) ?? facts.startedAt

export interface PendingRecorder extends AuditPort {
  /**
   * The pending entry's place in its chain once it is on record, so the final write goes to the
   * keys just written, under the same number.
   */
  readonly written: ChainPosition | undefined
  /**
   * The entry as written under that number: its head fields as its link committed to them
   * (`withHead`), whatever the request learned since. The final write goes through it too.
   */
  committed(entry: AuditEntry): AuditEntry
}

/** The entry in its place: numbered in its chain and linked to the chain's head. */
async function chained(chains: AuditChains, entry: AuditEntry): Promise<AuditEntry> {
  const chain = auditChainOf(entry.account_id)
  return { ...entry, ...(await chains.append(chain, eventKeyOf(entry), headOf(entry))) }
}

/** The audit port of one request; `parts` gives what the request is known to be so far. */
export function pendingRecorder(
  kv: KVNamespace,
  settings: StoreSettings,
  chains: AuditChains,
  parts: () => RecordParts,
): PendingRecorder {
  let written: ChainPosition | undefined
  // Issue 21 item 3: a number taken ahead of the pending entry (numberWith), not yet written.
  let numbered: ChainPosition | undefined
  // The head the link of the number taken committed to (any of the three ways below).
  let committedHead: ReturnType<typeof headOf> | undefined
  const committed = (entry: AuditEntry) =>
    committedHead === undefined ? entry : withHead(entry, committedHead)
  const pendingEntry = (found: Findings): AuditEntry => {
    const facts = recordOf({ ...parts(), findings: found, answer: undefined })
    return entryFromFacts(facts, facts.requestId, entryTime(facts), Date.now())
  }
  /** The numbered entry in KV; once written, the final entry goes to the same keys. */
  const writePending = async (entry: AuditEntry, position: ChainPosition) => {
    try {
      await writeEntry(kv, { ...committed(entry), ...position }, settings)
    } catch (error) {
      throw GatewayError.of('AUDIT_UNAVAILABLE', { cause: error })
    }
    written = position
  }
  return {
    get written() {
      // A number taken ahead is the request's: its final entry goes there, written or not.
      return written ?? numbered
    },
    committed,
    async beforeChange(found: Findings) {
      // Once on record, the request is on record: a second change in the same request needs no
      // second pending write to the same keys (KV: one write per key per second).
      if (written) return
      const entry = pendingEntry(found)
      if (numbered !== undefined) return writePending(entry, numbered)
      let position: ChainPosition
      const head = headOf(entry)
      try {
        position = await chains.append(auditChainOf(entry.account_id), eventKeyOf(entry), head)
      } catch (error) {
        throw GatewayError.of('AUDIT_UNAVAILABLE', { cause: error })
      }
      committedHead = head
      await writePending(entry, position)
    },
    // Issue 21 item 3: the number comes back from the operation's own coordinator call.
    async numberWith(found, take) {
      if (written !== undefined || numbered !== undefined) return (await take(undefined)).value
      const entry = pendingEntry(found)
      const head = headOf(entry)
      const { value, position } = await take({
        chain: auditChainOf(entry.account_id),
        kvKey: eventKeyOf(entry),
        head,
        retentionMs: settings.retentionDays * 86_400_000,
      })
      if (position !== null) {
        numbered = position
        committedHead = head
      }
      return value
    },
    async beforeChangeWith(found, take) {
      if (written) {
        await take(undefined)
        return
      }
      const entry = pendingEntry(found)
      if (numbered !== undefined) {
        await take(undefined)
        return writePending(entry, numbered)
      }
      const head = headOf(entry)
      const position = await take({
        chain: auditChainOf(entry.account_id),
        kvKey: eventKeyOf(entry),
        head,
        retentionMs: settings.retentionDays * 86_400_000,
      })
      if (position === null) return
      committedHead = head
      await writePending(entry, position)
    },
  }
}

/** An entry written after the response, chained; unchained if the coordinator cannot be reached. */
export async function chainedIfPossible(
  chains: AuditChains,
  entry: AuditEntry,
): Promise<AuditEntry> {
  try {
    return await chained(chains, entry)
  } catch (error) {
    console.error(`audit entry ${entry.id} written unchained:`, String(error))
    return entry
  }
}
