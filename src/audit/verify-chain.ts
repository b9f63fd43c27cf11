/**
 * Verifies one audit chain against the coordinator's links, in order of sequence number: for each
 * number the coordinator handed out, the entry must be in KV under the key it was linked with,
 * validly signed, in its place (its own `chain` and `seq`), pointing at the previous link, and
 * what it says must hash to its link. So a deleted entry, an entry moved to another number and
 * an edited one are each reported by number, and the report says from which number on the log is
 * vouched for.
 *
 * What it cannot see: entries older than the oldest link the coordinator keeps (retention), and a
 * coordinator rewritten together with KV by someone holding the signing key; signed checkpoints
 * kept outside Cloudflare (checkpoint.ts) are the answer to the second.
 */
import { z } from '@hono/zod-openapi'
import type { AuditChains } from '../coordinator/client'
import { linkOf } from './chain'
import type { AuditEntry } from './entry'
import { judge, sha256 } from './signing'

const chainProblemSchema = z.strictObject({
  kind: z.enum(['deleted', 'moved', 'relinked', 'altered', 'forged', 'unsigned']),
  seq: z.number().int(),
  key: z.string(),
  detail: z.string(),
})
export type ChainProblem = z.output<typeof chainProblemSchema>

export const chainReportSchema = z.strictObject({
  chain: z.string(),
  checked: z.number().int(),
  first_seq: z.number().int().nullable().openapi({
    description:
      'The oldest number the coordinator still keeps: nothing before it can be vouched for',
  }),
  head_seq: z.number().int().nullable().openapi({ description: 'The newest number handed out' }),
  vouched_from: z.number().int().nullable().openapi({
    description:
      'Every entry from this number up to the last one checked is intact (null: none is)',
  }),
  problems: z.array(chainProblemSchema),
  next_seq: z.number().int().nullable().openapi({
    description: 'Where the next page starts; null when the head was reached',
  }),
})
export type ChainReport = z.output<typeof chainReportSchema>

export async function verifyChain(
  kv: KVNamespace,
  chains: AuditChains,
  signingKey: string,
  chain: string,
  fromSeq: number,
  limit: number,
): Promise<ChainReport> {
  const { first, head } = await chains.ends(chain)
  const report: ChainReport = {
    chain,
    checked: 0,
    first_seq: first?.seq ?? null,
    head_seq: head?.seq ?? null,
    vouched_from: null,
    problems: [],
    next_seq: null,
  }
  if (first === null || head === null) return report
  const start = Math.max(fromSeq, first.seq)
  // The link before the page, so the page's first entry can be checked against it too.
  const [before] = start > first.seq ? await chains.links(chain, start - 1, 1) : []
  let previous = before?.link ?? (start === 1 ? '' : undefined)
  const links = await chains.links(chain, start, limit)
  for (const { seq, kv_key: key, link } of links) {
    report.checked++
    const problem = await checkOne(kv, signingKey, chain, { seq, key, link }, previous)
    if (problem) {
      report.problems.push(problem)
      report.vouched_from = null
    } else {
      report.vouched_from ??= seq
    }
    previous = link
  }
  const last = links.at(-1)?.seq
  report.next_seq = last !== undefined && last < head.seq ? last + 1 : null
  return report
}

async function checkOne(
  kv: KVNamespace,
  signingKey: string,
  chain: string,
  expected: { seq: number; key: string; link: string },
  previous: string | undefined,
): Promise<ChainProblem | undefined> {
  const stored = await kv.getWithMetadata<Record<string, unknown>>(expected.key)
  return checkLinked(
    stored.value === null ? undefined : { value: stored.value, metadata: stored.metadata },
    signingKey,
    chain,
    expected,
    previous,
  )
}

/**
 * One stored entry (undefined: not in the log) against the link the coordinator keeps for its
 * number: present, validly signed, in its place, pointing at `previous` (if known), and hashing
 * to the link. The range verify (verify.ts) runs the same check on the entries it lists.
 */
export async function checkLinked(
  stored: { value: string; metadata: Record<string, unknown> | null } | undefined,
  signingKey: string,
  chain: string,
  expected: { seq: number; key: string; link: string },
  previous: string | undefined,
): Promise<ChainProblem | undefined> {
  const { seq, key, link } = expected
  const at = (kind: ChainProblem['kind'], detail: string): ChainProblem => ({
    kind,
    seq,
    key,
    detail,
  })
  if (stored === undefined) return at('deleted', `entry ${seq} of ${chain} is not in the log`)
  const state = await judge(signingKey, key, stored.metadata)
  if (state !== 'valid') return at(state, `signature check: ${state}`)
  if (stored.metadata!.vh !== (await sha256(stored.value))) {
    return at('altered', 'the value does not match its signed hash')
  }
  const entry = JSON.parse(stored.value) as AuditEntry
  if (entry.chain !== chain || entry.seq !== seq) {
    return at(
      'moved',
      `the entry under this key says it is ${entry.chain ?? '-'} #${entry.seq ?? '-'}`,
    )
  }
  if (previous !== undefined && entry.prev !== previous) {
    return at('relinked', 'the entry does not point at the previous link')
  }
  if ((await linkOf({ chain, seq, prev: entry.prev ?? '' }, key, entry)) !== link) {
    return at('altered', 'what the entry says differs from what was chained')
  }
  return undefined
}
