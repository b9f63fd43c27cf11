/**
 * The audit log's port for those who review it: query, export, verify, the chain, checkpoints and
 * the public key, over the audit namespace (KV) and the coordinator's chains. The request scope
 * (kernel/scope-for.ts) builds it, so that the review API's handlers, the console's pages and the
 * scheduled checkpoints (review.ts) read the log through the scope and never through a binding;
 * `test/unit/layers.test.ts` keeps it so. Writing request entries is the recorder's
 * (recorder.ts) and the audit trail's (middleware.ts), not this port's.
 */
import type { Config } from '../config'
import type { AuditChains } from '../coordinator/client'
import {
  keptCheckpointSchema,
  signCheckpoint,
  type Checkpoint,
  type KeptCheckpoint,
} from './checkpoint'
import { publicKeyOf, type PublicKey } from './ed25519'
import { exportStream, type Covered, type ExportFormat } from './export'
import { entries, runQuery, type Found, type Page, type Query } from './query'
import { listCheckpoints, writeCheckpoint, type Budget, type Position } from './store'
import { verifyPage, type VerifyOptions, type VerifyReport } from './verify'
import { verifyChain, type ChainReport } from './verify-chain'

export interface AuditLog {
  /** The chains entries are numbered in: the policy's accounts' and `gateway`'s. */
  readonly chainNames: readonly string[]
  /** How long entries are kept: a query without `from` starts this long ago. */
  readonly retentionDays: number
  /** One page of entries, newest first (query.ts). */
  query(query: Query): Promise<Page>
  /** The entries of a query one at a time, within `budget` list() calls (query.ts). */
  entries(query: Omit<Query, 'limit'>, budget: Budget): AsyncGenerator<Found, Position | undefined>
  /** A signed export, NDJSON or CSV, closed by its marker (export.ts). */
  export(query: Query, format: ExportFormat, covered?: Covered): ReadableStream<Uint8Array>
  /** One page of signature checks; `chains: 'all'` walks every chain over its span too. */
  verify(
    options: Omit<VerifyOptions, 'signingKey' | 'chains'> & { chains: 'all' | 'named' },
  ): Promise<VerifyReport>
  /** A chain's entries from `fromSeq`, each checked against the coordinator's link. */
  chain(chain: string, fromSeq: number, limit: number): Promise<ChainReport>
  /** The chain's head, signed now; null while the chain has no entry. */
  checkpoint(chain: string, at: Date): Promise<Checkpoint | null>
  /** Keeps a checkpoint in the log for auditors to collect. */
  keepCheckpoint(checkpoint: Checkpoint): Promise<void>
  /** A chain's kept checkpoints, newest first; what does not read as one is left out. */
  checkpoints(chain: string, limit: number): Promise<KeptCheckpoint[]>
  /** The key checkpoints and export markers are checked with (never the private half). */
  publicKey(): Promise<PublicKey>
}

export function auditLogOf(
  kv: KVNamespace,
  chains: AuditChains,
  config: Pick<Config, 'audit'> & { accounts: readonly string[] },
): AuditLog {
  const { signingKey, attestKey, retentionDays } = config.audit
  const chainNames = [...config.accounts, 'gateway']
  return {
    chainNames,
    retentionDays,
    query: (query) => runQuery(kv, query),
    entries: (query, budget) => entries(kv, query, budget),
    export: (query, format, covered) => exportStream(kv, query, format, attestKey, covered),
    verify: ({ chains: which, ...options }) =>
      verifyPage(kv, {
        ...options,
        signingKey,
        // 'named': only the chains the checked entries name are walked (one entry's page).
        chains: { names: which === 'all' ? chainNames : [], links: chains },
      }),
    chain: (chain, fromSeq, limit) => verifyChain(kv, chains, signingKey, chain, fromSeq, limit),
    async checkpoint(chain, at) {
      const { head } = await chains.ends(chain)
      return (
        head && (await signCheckpoint(attestKey, { chain, seq: head.seq, link: head.link }, at))
      )
    },
    keepCheckpoint: (checkpoint) => writeCheckpoint(kv, checkpoint, retentionDays),
    async checkpoints(chain, limit) {
      const stored = await listCheckpoints(kv, chain, limit)
      // What does not read as a checkpoint is left out here; its signature is for verify to judge.
      return stored.flatMap((value) => {
        const parsed = keptCheckpointSchema.safeParse(value)
        return parsed.success ? [parsed.data] : []
      })
    },
    publicKey: () => publicKeyOf(attestKey),
  }
}
