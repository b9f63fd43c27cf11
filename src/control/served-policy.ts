/**
 * The policy every request is decided under (issue 20): the coordinator's current revision, held
 * by each isolate for at most `FRESH_MS`.
 *
 * How a revision travels: an isolate keeps the configuration of the revision it last saw and when
 * it asked (a value, never a promise: CONTRIBUTING "One request never waits on another"). A request
 * that finds the copy older than `FRESH_MS` asks the `gateway` coordinator instance itself, with
 * the id it holds: the answer is the current id, plus the document only when it changed, so the
 * usual refresh carries 64 hex digits. The ask comes before authentication, because the policy
 * says who the caller is; it costs an isolate one round trip a second at most, whatever its load.
 * Two requests that find the copy stale at once each ask; the later check wins. So a change
 * (a new rule, a member added, a member revoked) is served by every isolate within `FRESH_MS` of
 * the coordinator's answer to whoever made it.
 *
 * Fails closed: when the current revision cannot be read (coordinator unreachable, a stored
 * document that does not parse or does not hash to its id) and the copy held is stale, the request
 * is refused with 503 POLICY_UNAVAILABLE. A stale copy is never served: it could still admit a
 * revoked member.
 *
 * Bootstrap: when no revision is stored, the first isolate to ask stores the POLICY secret as the
 * first revision (author `POLICY secret`); from then on the secret is ignored in managed mode.
 * The coordinator tells the one ask that stored it so (`bootstrapped`), and that request puts it
 * on the audit chain (`onBootstrap`, control/bootstrap-record.ts): one entry, however many
 * isolates raced to bootstrap.
 * Pinned mode (`POLICY_MODE=pinned`): the secret is always the policy, the coordinator is never
 * asked, and the API refuses changes (docs/operators.md says how to move between the modes).
 */
import type { RevisionStore } from '../coordinator/client'
import type { Config } from '../config'
import { GatewayError } from '../lib/errors'
import { parsePolicy } from '../policy/document'
import { demoPolicyFrontsCloudflare } from '../policy/demo'
import { limitsOf } from '../policy/limits'
import {
  newRevision,
  revisionIdOf,
  SECRET_AUTHOR,
  type CurrentAnswer,
  type Revision,
} from './revision'

/** How long an isolate serves the revision it holds without asking again. */
export const FRESH_MS = 1000

/** Revisions worked out per base configuration (a few: the current and the last ones). */
const KEPT_REVISIONS = 8

interface Held {
  config: Config
  /** When the coordinator was asked for it: the copy is as fresh as the ask, not the answer. */
  askedAtMs: number
  /** Issue 20, slice 4: the member keys' version on the same answer (identity/table-keys.ts). */
  keysVersion: number
  /** Working member keys without a check value, on the same answer (identity/table-keys.ts). */
  uncheckedKeys: number
}

const held = new WeakMap<Config, Held>()
const derived = new WeakMap<Config, Map<string, Config>>()
/** The pinned secret's revision id, per base configuration (a value: one digest per isolate). */
const pinnedIds = new WeakMap<Config, string>()

const unavailable = (message: string, cause?: unknown) =>
  GatewayError.of('POLICY_UNAVAILABLE', { cause: cause ?? new Error(message) })

/**
 * The configuration of revision `id` (its document parsed, its limits worked out), over `base`.
 * Refuses a document that does not hash to its id or does not parse: the coordinator's storage
 * is trusted to keep values, not to be right about them.
 */
export async function configOfRevision(
  base: Config,
  id: string,
  document: string,
): Promise<Config> {
  let kept = derived.get(base)
  const known = kept?.get(id)
  if (known !== undefined) return known
  if ((await revisionIdOf(document)) !== id) {
    throw unavailable(`revision ${id}: its document does not hash to its id`)
  }
  const parsed = parsePolicy(document)
  if (!parsed.ok) {
    const problems = parsed.problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')
    throw unavailable(`revision ${id} does not parse: ${problems}`)
  }
  if (demoPolicyFrontsCloudflare(parsed.policy, base.upstream.baseUrl)) {
    throw unavailable(`revision ${id} is the demo policy, in front of the real Cloudflare API`)
  }
  const config: Config = {
    ...base,
    policy: parsed.policy,
    limits: limitsOf(parsed.policy),
    policyRevision: id,
  }
  if (kept === undefined) derived.set(base, (kept = new Map()))
  if (kept.size >= KEPT_REVISIONS) kept.delete(kept.keys().next().value!)
  kept.set(id, config)
  return config
}

/** The configuration this request is served under (see the file comment). */
export async function servedConfig(
  base: Config,
  store: () => RevisionStore,
  clock: () => number = Date.now,
  /** Puts the bootstrap on the audit chain; called only by the one ask that stored it. */
  onBootstrap?: (revision: Revision) => Promise<void>,
): Promise<Config> {
  const { mode, document } = base.policySource
  if (mode === 'pinned') {
    let id = pinnedIds.get(base)
    if (id === undefined) pinnedIds.set(base, (id = await revisionIdOf(document)))
    return configOfRevision(base, id, document)
  }
  const askedAtMs = clock()
  const known = held.get(base)
  if (known !== undefined && askedAtMs - known.askedAtMs < FRESH_MS) return known.config

  const knownId = known?.config.policyRevision ?? null
  let answer: CurrentAnswer
  let bootstrapped: Revision | undefined
  try {
    const revisions = store()
    answer = await revisions.current(knownId)
    if (answer.id === null) {
      const first = await newRevision(document, {
        parent: null,
        author: SECRET_AUTHOR,
        reason: 'bootstrap: the POLICY secret, as no revision was stored',
        now: new Date(askedAtMs),
      })
      answer = await revisions.bootstrap(first)
      if (answer.bootstrapped === true) bootstrapped = first
    }
  } catch (error) {
    console.error('the current policy revision cannot be read:', String(error))
    throw unavailable('the coordinator did not answer', error)
  }
  // Outside the try: a failure to record is the audit's (503 AUDIT_UNAVAILABLE), not the policy's.
  if (bootstrapped !== undefined && onBootstrap !== undefined) await onBootstrap(bootstrapped)
  const { id } = answer
  if (id === null) throw unavailable('no revision after the bootstrap')
  let config: Config
  try {
    config =
      answer.document === null && known !== undefined && id === knownId
        ? known.config
        : await configOfRevision(base, id, answer.document ?? '')
  } catch (error) {
    console.error('the current policy revision cannot be served:', String(error))
    throw error
  }
  // Concurrent asks may answer out of order: only a later ask replaces what is held.
  const now = held.get(base)
  if (now === undefined || now.askedAtMs <= askedAtMs) {
    held.set(base, {
      config,
      askedAtMs,
      keysVersion: answer.keysVersion ?? 0,
      // Unknown (an answer without it) counts as some: such keys are then still looked up.
      uncheckedKeys: answer.uncheckedKeys ?? 1,
    })
  }
  return config
}

/**
 * Issue 20, slice 4: the member keys' version this isolate last learnt for `base` (0 before any
 * answer, and always in pinned mode, where the table is not used).
 */
export function servedKeysVersion(base: Config): number {
  return held.get(base)?.keysVersion ?? 0
}

/**
 * How many working member keys without a check value the last answer for `base` reported
 * (identity/table-keys.ts `mayBeTableKey`); unknown (nothing held yet) counts as some.
 */
export function servedUncheckedKeys(base: Config): number {
  return held.get(base)?.uncheckedKeys ?? 1
}

/** Forgets what this isolate holds for `base` (tests that change the revision under it). */
export function forgetServed(base: Config): void {
  held.delete(base)
}
