/**
 * Checkpoints: a chain's head (its last number and link, audit/chain.ts), signed by the gateway, at
 * a moment. An auditor fetches one now and then (`GET /gateway/v1/audit/checkpoint`) and keeps it
 * outside Cloudflare; later, `npm run audit:verify -- --file export.ndjson --checkpoints file`
 * checks that the export's entry at that number still has that link. Because each link commits to
 * everything before it, a history rewritten anywhere before a kept checkpoint (even by someone who
 * holds the HMAC signing key and the coordinator) no longer matches it.
 *
 * Signed with Ed25519 (ed25519.ts, version 2): checked with the public key, which cannot sign, so
 * an auditor who checks them cannot forge them. Version 1 checkpoints (HMAC under the entries' key,
 * before that) are still read and checked with the HMAC key, and said to prove less.
 */
import { z } from '@hono/zod-openapi'
import { keyIdOf, signText, verifyText, type PrivateJwk, type PublicKey } from './ed25519'
import { canonical, checkMarker } from './signing'

export const checkpointSchema = z
  .strictObject({
    checkpoint: z.literal(2),
    chain: z.string(),
    seq: z.number().int().min(1),
    link: z.string(),
    at: z.iso.datetime(),
    kid: z.string().openapi({ description: 'The public key that checks it (public-key endpoint)' }),
    sig: z.string().openapi({ description: 'Ed25519 over the rest, base64url' }),
  })
  .openapi('AuditCheckpoint', {
    description:
      "A chain's head, signed: keep it outside Cloudflare to check exports against later",
  })
export type Checkpoint = z.output<typeof checkpointSchema>

/** What the gateway signed before version 2: an HMAC under the entries' key. */
const legacyCheckpointSchema = z
  .strictObject({
    checkpoint: z.literal(1),
    chain: z.string(),
    seq: z.number().int().min(1),
    link: z.string(),
    at: z.iso.datetime(),
    sig: z.string(),
  })
  .openapi('AuditCheckpointV1', {
    description: "A checkpoint signed before version 2: an HMAC under the entries' key",
  })

/** Either version, as stored and as auditors kept them. */
export const keptCheckpointSchema = z.union([checkpointSchema, legacyCheckpointSchema])
export type KeptCheckpoint = z.output<typeof keptCheckpointSchema>

/** Its own label, so that a checkpoint cannot pass for an export marker or the other way round. */
const checkpointText = (unsigned: Omit<Checkpoint, 'sig'>) =>
  `mtls-gateway-audit-checkpoint/v2\n${canonical(unsigned)}`

export async function signCheckpoint(
  key: PrivateJwk,
  head: { chain: string; seq: number; link: string },
  at: Date,
): Promise<Checkpoint> {
  const unsigned = {
    checkpoint: 2 as const,
    chain: head.chain,
    seq: head.seq,
    link: head.link,
    at: at.toISOString(),
    kid: await keyIdOf(key.x),
  }
  return { ...unsigned, sig: await signText(key, checkpointText(unsigned)) }
}

/** The keys a checkpoint can be checked with: the public key, and the HMAC key for version 1. */
export interface CheckpointKeys {
  publicKey: PublicKey
  signingKey?: string
}

/** Whether the gateway signed this checkpoint (a version 1 one: under the HMAC key, if given). */
async function checkpointSigned(
  keys: CheckpointKeys,
  checkpoint: KeptCheckpoint,
): Promise<string | undefined> {
  if (checkpoint.checkpoint === 1) {
    const { sig, ...unsigned } = checkpoint
    const ok =
      keys.signingKey !== undefined &&
      (await checkMarker(keys.signingKey, { label: 'checkpoint', ...unsigned }, sig))
    return ok
      ? undefined
      : `the version 1 (HMAC) checkpoint of ${checkpoint.chain} #${checkpoint.seq} is not signed by the gateway: ${canonical(unsigned)}`
  }
  const { sig, ...unsigned } = checkpoint
  if (unsigned.kid !== keys.publicKey.kid) {
    return `the checkpoint of ${checkpoint.chain} #${checkpoint.seq} names key ${unsigned.kid}, not the pinned ${keys.publicKey.kid}`
  }
  return (await verifyText(keys.publicKey, checkpointText(unsigned), sig))
    ? undefined
    : `the checkpoint of ${checkpoint.chain} #${checkpoint.seq} is not signed by the gateway: ${canonical(unsigned)}`
}

/**
 * What is wrong with an export (its links by number) against a checkpoint, or undefined. A
 * checkpoint whose number the export does not hold says nothing about it.
 */
export async function checkpointProblem(
  keys: CheckpointKeys,
  checkpoint: KeptCheckpoint,
  links: ReadonlyMap<number, string>,
): Promise<string | undefined> {
  const unsigned = await checkpointSigned(keys, checkpoint)
  if (unsigned !== undefined) return unsigned
  const link = links.get(checkpoint.seq)
  if (link !== undefined && link !== checkpoint.link) {
    return `${checkpoint.chain} #${checkpoint.seq} differs from the checkpoint of ${checkpoint.at}: the log before it was rewritten`
  }
  return undefined
}

/** Checkpoints from a file: one JSON object per line (what the endpoint answers, its `result`). */
export function parseCheckpoints(text: string): KeptCheckpoint[] | string {
  const checkpoints: KeptCheckpoint[] = []
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch {
      return `line ${index + 1}: not JSON`
    }
    const parsed = keptCheckpointSchema.safeParse(json)
    if (!parsed.success) return `line ${index + 1}: not a checkpoint`
    checkpoints.push(parsed.data)
  }
  return checkpoints
}
