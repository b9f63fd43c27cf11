/**
 * Checkpoints: a chain's head (its last number and link, audit/chain.ts), signed by the gateway, at
 * a moment. An auditor fetches one now and then (`GET /gateway/v1/audit/checkpoint`) and keeps it
 * outside Cloudflare; later, `npm run audit:verify -- --file export.ndjson --checkpoints file`
 * checks that the export's entry at that number still has that link. Because each link commits to
 * everything before it, a history rewritten anywhere before a kept checkpoint (even by someone who
 * holds the signing key and the coordinator) no longer matches it.
 *
 * Signed with the audit's HMAC key (signing.ts): whoever verifies holds that key, as for exports.
 */
import { z } from '@hono/zod-openapi'
import { canonical, checkMarker, signMarker } from './signing'

export const checkpointSchema = z
  .strictObject({
    checkpoint: z.literal(1),
    chain: z.string(),
    seq: z.number().int().min(1),
    link: z.string(),
    at: z.iso.datetime(),
    sig: z.string(),
  })
  .openapi('AuditCheckpoint', {
    description:
      "A chain's head, signed: keep it outside Cloudflare to check exports against later",
  })
export type Checkpoint = z.output<typeof checkpointSchema>

/** Checkpoints are signed as markers are, under their own label, so one cannot pass for the other. */
const labelled = (unsigned: Omit<Checkpoint, 'sig'>) => ({ label: 'checkpoint', ...unsigned })

export async function signCheckpoint(
  secret: string,
  head: { chain: string; seq: number; link: string },
  at: Date,
): Promise<Checkpoint> {
  const unsigned = {
    checkpoint: 1 as const,
    chain: head.chain,
    seq: head.seq,
    link: head.link,
    at: at.toISOString(),
  }
  return { ...unsigned, sig: await signMarker(secret, labelled(unsigned)) }
}

/**
 * What is wrong with an export (its links by number) against a checkpoint, or undefined. A
 * checkpoint whose number the export does not hold says nothing about it.
 */
export async function checkpointProblem(
  secret: string,
  checkpoint: Checkpoint,
  links: ReadonlyMap<number, string>,
): Promise<string | undefined> {
  const { sig, ...unsigned } = checkpoint
  if (!(await checkMarker(secret, labelled(unsigned), sig))) {
    return `the checkpoint of ${checkpoint.chain} #${checkpoint.seq} is not signed by the gateway: ${canonical(unsigned)}`
  }
  const link = links.get(checkpoint.seq)
  if (link !== undefined && link !== checkpoint.link) {
    return `${checkpoint.chain} #${checkpoint.seq} differs from the checkpoint of ${checkpoint.at}: the log before it was rewritten`
  }
  return undefined
}

/** Checkpoints from a file: one JSON object per line (what the endpoint answers, its `result`). */
export function parseCheckpoints(text: string): Checkpoint[] | string {
  const checkpoints: Checkpoint[] = []
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch {
      return `line ${index + 1}: not JSON`
    }
    const parsed = checkpointSchema.safeParse(json)
    if (!parsed.success) return `line ${index + 1}: not a checkpoint`
    checkpoints.push(parsed.data)
  }
  return checkpoints
}
