/**
 * Owns: which certificates GET …/mtls_certificates returns for its query: `type`, `ca` and `name`,
 * combined with AND. Every other parameter (`page`, `per_page`, …) is ignored.
 *
 * Sources (README "List filters" has the full reasoning):
 * - `type`: the spec (contract §1: comma-separated, `explode: false`) and SDK v6+ (§2: repeated).
 * - `name`: wrangler (packages/wrangler/src/api/mtls-certificate.ts) sends `name=<name>` and takes
 *   the answer as "the certificates with that name", failing on zero or several; its end-to-end
 *   test against the real API (packages/wrangler/e2e/cert.test.ts) deletes by name while another
 *   certificate exists, so the real API filters. Exact, case-sensitive match [I]: the e2e names
 *   cannot tell exact from substring, and wrangler's messages speak of equality.
 * - `ca`: wrangler sends `ca=false` to list only leaf (mTLS) certificates and omits it to list
 *   every certificate (`wrangler cert list`); cloudflare-go v0 declares it as `CA bool
 *   url:"ca,omitempty"`. Read as Go's strconv.ParseBool does [I] (the upstream's fields are Go's:
 *   contract §4), so `1`/`t`/`true`/`TRUE`/`True` and their false forms; anything else is a 400.
 * An empty value (`name=`, `ca=`, `type=`) counts as absent; a repeated `ca` or `name` uses its
 * first value, as Go's url.Values.Get does.
 */

import type { Context } from 'hono'

import type { AppEnv } from './app-env'
import type { StoredCertificate } from './certificate-store'
import { apiErrors } from './errors'

const PARSE_BOOL: Record<string, boolean> = {
  '1': true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
}

/** `type=a,b` (spec, explode: false) and `type=a&type=b` (SDK v6+) both work, mixed too. */
function typeFilter(c: Context<AppEnv>): Set<string> | undefined {
  const values = (c.req.queries('type') ?? []).flatMap((v) => v.split(','))
  const types = values.map((v) => v.trim()).filter((v) => v !== '')
  return types.length > 0 ? new Set(types) : undefined
}

function caFilter(c: Context<AppEnv>): boolean | undefined {
  const value = c.req.query('ca')
  if (value === undefined || value === '') return undefined
  const ca = PARSE_BOOL[value]
  if (ca === undefined) throw apiErrors.invalidQuery('ca', 'ca: must be a boolean')
  return ca
}

/** Throws the 400 for an invalid `ca` before anything is read, so a bad query never lists. */
export function listFilter(c: Context<AppEnv>): (record: StoredCertificate) => boolean {
  const types = typeFilter(c)
  const ca = caFilter(c)
  const name = c.req.query('name') || undefined
  return ({ fields }) =>
    (types === undefined || types.has(String(fields.type))) &&
    // A seeded record without `ca` counts as false, as a Go bool field would.
    (ca === undefined || (fields.ca === true) === ca) &&
    (name === undefined || fields.name === name)
}
