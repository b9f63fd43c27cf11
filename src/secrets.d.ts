// Secrets (and optional variables) are not in wrangler.toml, so `wrangler types` cannot see them;
// they are declared here.
declare namespace Cloudflare {
  interface Env {
    /** The one real Cloudflare API token (Account: SSL and Certificates Edit). `wrangler secret put`. */
    CLOUDFLARE_API_TOKEN: string
    /** The policy document (JSON; see docs/policy.md). A secret or a variable. */
    POLICY: string
    /**
     * Optional, both or neither (docs/operators.md, "Configuration"): accept Cloudflare Access identities. Not in
     * wrangler.toml because most deployments leave them unset.
     */
    ACCESS_TEAM_DOMAIN?: string
    ACCESS_AUD?: string
    /** HMAC-SHA256 key that signs every audit entry (at least 32 characters). `wrangler secret put`. */
    AUDIT_SIGNING_KEY: string
    /**
     * The private Ed25519 JWK that signs checkpoints and export markers (`npm run audit:key`);
     * its public half is published at /gateway/v1/audit/public-key. `wrangler secret put`.
     */
    AUDIT_ED25519_PRIVATE_KEY: string
    /**
     * Issue 23: the expiry notices' channels, JSON `{ "<id>": { kind: "webhook", url, secret:
     * "whsec_..." } | { kind: "slack", url } }` (lifecycle/channels.ts). Optional: without it no
     * notice can be delivered (they wait, dead-lettered). `wrangler secret put`.
     */
    LIFECYCLE_CHANNELS?: string
  }
}
