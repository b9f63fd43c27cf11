/**
 * Recognises the demo policy that `npm start` runs with (demo/policy.json), whose keys are printed
 * in the README and docs/api.md for anyone to read, and the published Ed25519 audit keys (demo and tests).
 *
 * The gateway refuses to serve the real Cloudflare API with it. The check looks at the key hashes,
 * not only at the `demo` flag, so a copy of the demo file with the flag deleted is still caught.
 */
import type { Policy } from './document'

const DEMO_KEY_HASHES = new Set([
  '356b494713c60cbb18e140051bab8a54102c08b73b522374c7c826eaf0d961c4',
  '8de3f93e509cf9ab9491923f55aa5ca9af530d9ea8ff8ca6d0467530d5c35d1a',
  '45135a5d491e38b323aa43df0f5cbb9397cc39440d554eb677c56c2325cc2942',
  'c35b15b2c5816df258c11750fca017c03d0b0fd4fce7030be67f95a7d33a8aa7',
  'f0d8333a45f5d769de1b30417134d99742044131a3976c110c1f9e8ef31ffb0c',
])

const REAL_CLOUDFLARE_API_HOST = 'api.cloudflare.com'

/**
 * The public halves (`x`) of the Ed25519 audit keys whose private halves are published: the demo's
 * (scripts/dev-servers.mjs) and the tests' (test/support/identities.ts). Checkpoints signed with
 * them prove nothing, so the gateway refuses them in front of the real API, as the demo policy.
 */
const PUBLISHED_AUDIT_KEYS = new Set([
  'chOUKUGVwHrX6kdDtHVbyrehYu7Ayvvu55bH0jZEDLA',
  'zbJC-_z_p072ZcFTQE9DNhtUEt9TVZWS6BEZLbUP4ws',
])

export function demoAuditKeyFrontsCloudflare(x: string, upstreamBaseUrl: string): boolean {
  return (
    PUBLISHED_AUDIT_KEYS.has(x) && new URL(upstreamBaseUrl).hostname === REAL_CLOUDFLARE_API_HOST
  )
}

/** True when this policy would put published keys in front of the real Cloudflare API. */
export function demoPolicyFrontsCloudflare(policy: Policy, upstreamBaseUrl: string): boolean {
  return isDemoPolicy(policy) && new URL(upstreamBaseUrl).hostname === REAL_CLOUDFLARE_API_HOST
}

function isDemoPolicy(policy: Policy): boolean {
  return (
    policy.demo ||
    policy.members.some((m) => m.key_sha256 !== undefined && DEMO_KEY_HASHES.has(m.key_sha256))
  )
}
