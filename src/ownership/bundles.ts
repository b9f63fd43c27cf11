/**
 * An upstream certificate's bundle, as adoption (reconcile.ts) matches it against upload intents
 * (`bundleSha256`, inspect-pem.ts). Worked out once per PEM an isolate sees, not once per list:
 * while intents are live, every list reads the same unowned certificates again, and reading a PEM
 * in full (base64, ASN.1) costs about a millisecond; the cheap hash (base64 only) decides most.
 *
 * Remembered per certificate id together with the PEM it was worked out from, and used only while
 * the PEM is the same text (a string comparison, far cheaper than a hash of it), so a stale entry
 * can never answer for another PEM. Bounded: the least recently used entries go first, and each
 * holds its PEM (a few KiB), so the bound keeps it to a few MiB per isolate.
 */
import { bundleSha256Of, inspectCertificates } from '../lib/inspect-pem'

export const MAX_REMEMBERED_BUNDLES = 2_048

interface Remembered {
  pem: string
  /** bundleSha256Of(pem): the hash if the PEM is CERTIFICATE blocks, null if not. */
  cheap: string | null
  /** Once inspected in full (only when `cheap` matched an intent): its bundleSha256, or null. */
  inspected?: string | null
}

const remembered = new Map<string, Remembered>()

async function entryOf(id: string, pem: string): Promise<Remembered> {
  const entry = remembered.get(id)
  remembered.delete(id) // re-inserted below: the most recently used come last
  if (entry !== undefined && entry.pem === pem) {
    remembered.set(id, entry)
    return entry
  }
  const fresh: Remembered = { pem, cheap: (await bundleSha256Of(pem)) ?? null }
  remembered.set(id, fresh)
  while (remembered.size > MAX_REMEMBERED_BUNDLES) {
    remembered.delete(remembered.keys().next().value!)
  }
  return fresh
}

const matchIn = (bundleSha256: string | null, bundles: ReadonlySet<string>) =>
  bundleSha256 !== null && bundles.has(bundleSha256) ? bundleSha256 : null

/**
 * What `matchingBundle` would answer, without awaiting, when this isolate has read the PEM
 * before (the common case, once intents are live: every list reads the same certificates);
 * undefined when it must be read (or, for a match, inspected in full) first.
 */
export function rememberedMatch(
  id: string,
  pem: string,
  bundles: ReadonlySet<string>,
): string | null | undefined {
  const entry = remembered.get(id)
  if (entry === undefined || entry.pem !== pem) return undefined
  if (matchIn(entry.cheap, bundles) === null) return null
  return entry.inspected === undefined ? undefined : matchIn(entry.inspected, bundles)
}

/** How much fresh reading one request may still do (reconcile.ts sets it); spent as it goes. */
export interface ReadBudget {
  /** PEMs not read before: base64 and SHA-256, about 0.1 ms each (bench:cpu). */
  reads: number
  /** Full inspections of a matching PEM (ASN.1), about 1 ms each. */
  inspections: number
}

const UNLIMITED: ReadBudget = { reads: Infinity, inspections: Infinity }

/**
 * The bundle hash of certificate `id`'s `pem` when it is one of `bundles` (the live intents') and
 * the PEM inspects as certificates, exactly what `inspectCertificates` would say; else null; or
 * undefined when deciding would take more reading than `budget` has left. The cheap hash decides
 * a miss; a match, which is rare (an upload whose owner was lost), is inspected in full once, and
 * that is remembered too.
 */
export async function matchingBundle(
  id: string,
  pem: string,
  bundles: ReadonlySet<string>,
  budget: ReadBudget = UNLIMITED,
): Promise<string | null | undefined> {
  if (remembered.get(id)?.pem !== pem) {
    if (budget.reads <= 0) return undefined
    budget.reads--
  }
  const entry = await entryOf(id, pem)
  if (matchIn(entry.cheap, bundles) === null) return null
  if (entry.inspected === undefined) {
    if (budget.inspections <= 0) return undefined
    budget.inspections--
    const inspected = await inspectCertificates(pem, false)
    entry.inspected = inspected.ok ? inspected.value.info.bundleSha256 : null
  }
  return matchIn(entry.inspected, bundles)
}
