/**
 * The gateway's configuration, read from the Worker's bindings and checked before any request is
 * served.
 *
 * Workers have no start-up hook with access to bindings, so "start-up" is the first request an
 * isolate sees: the result is memoised per `env` object. Anything wrong (no token, a policy with
 * errors, the demo policy or a published audit key pointed at the real Cloudflare API, a plain-http upstream that is not on
 * loopback, only one of ACCESS_TEAM_DOMAIN and ACCESS_AUD) makes every request fail with 503
 * MISCONFIGURED. The details go to the log, never to the caller, and never include a secret.
 */
import { z } from '@hono/zod-openapi'
import { GatewayError } from './lib/errors'
import { problemsOf } from './lib/zod-issues'
import { parsePolicy, type Policy } from './policy/document'
import { demoAuditKeyFrontsCloudflare, demoPolicyFrontsCloudflare } from './policy/demo'
import { privateJwkSchema, type PrivateJwk } from './audit/ed25519'
import { limitsOf, type Limits } from './policy/limits'
import { canonical } from './audit/signing'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

const intFrom = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback)

const isAllowedOrigin = (url: URL) =>
  url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))

/** An unset optional variable may arrive as '' (an empty `[vars]` entry): that counts as unset. */
const optionalVar = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional())

const envSchema = z.object({
  CLOUDFLARE_API_TOKEN: z.string().min(1, 'the secret CLOUDFLARE_API_TOKEN is not set'),
  POLICY: z.string().min(1, 'the secret or variable POLICY (the policy document, JSON) is not set'),
  UPSTREAM_BASE_URL: z
    .url()
    .default('https://api.cloudflare.com/client/v4')
    .refine(
      (value) => isAllowedOrigin(new URL(value)),
      'must be https (plain http is allowed only for a loopback emulator)',
    )
    .transform((value) => value.replace(/\/+$/, '')),
  UPSTREAM_TIMEOUT_MS: intFrom(100, 120_000, 10_000),
  UPSTREAM_MAX_ATTEMPTS: intFrom(1, 5, 3),
  UPSTREAM_RETRY_BASE_MS: intFrom(0, 10_000, 250),
  MAX_BODY_BYTES: intFrom(1024, 1_048_576, 65_536),
  // Cloudflare Access (src/identity/access.ts): both or neither, checked in readConfig.
  ACCESS_TEAM_DOMAIN: optionalVar(
    z
      .url()
      .refine((value) => {
        const url = new URL(value)
        return isAllowedOrigin(url) && url.pathname === '/' && !url.search && !url.hash
      }, 'must be an https origin such as https://<team>.cloudflareaccess.com (no path)')
      .transform((value) => new URL(value).origin),
  ),
  ACCESS_AUD: optionalVar(
    z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be the Access application audience (AUD) tag'),
  ),
  // The audit trail is part of the service, not an option: without it the gateway does not serve.
  AUDIT: z.custom<KVNamespace>(
    (value) => typeof (value as { put?: unknown } | undefined)?.put === 'function',
    'the KV namespace binding AUDIT is missing',
  ),
  // The ledger, the budget, quotas and approvals are decided there: without it, nothing that
  // needs one answer across isolates could be served safely.
  COORDINATOR: z.custom<DurableObjectNamespace>(
    (value) => typeof (value as { idFromName?: unknown } | undefined)?.idFromName === 'function',
    'the Durable Object binding COORDINATOR is missing',
  ),
  AUDIT_SIGNING_KEY: z
    .string({ error: 'the secret AUDIT_SIGNING_KEY is not set' })
    .min(32, 'the secret AUDIT_SIGNING_KEY must be at least 32 characters'),
  // Signs checkpoints and export markers (audit/ed25519.ts): an auditor checks them with the
  // public key and cannot forge them. Without it nothing an auditor keeps could be signed, so the
  // gateway does not serve (the message never quotes the secret).
  AUDIT_ED25519_PRIVATE_KEY: z
    .string({ error: 'the secret AUDIT_ED25519_PRIVATE_KEY is not set (npm run audit:key)' })
    .transform((value, ctx) => {
      let json: unknown
      try {
        json = JSON.parse(value)
      } catch {
        json = undefined
      }
      const parsed = privateJwkSchema.safeParse(json)
      if (parsed.success) return parsed.data
      ctx.addIssue({
        code: 'custom',
        message:
          'the secret AUDIT_ED25519_PRIVATE_KEY must be a private Ed25519 JWK ({"kty":"OKP","crv":"Ed25519","d":...,"x":...}; npm run audit:key)',
      })
      return z.NEVER
    }),
  AUDIT_RETENTION_DAYS: intFrom(1, 3650, 365),
  // Issue 20 (control/served-policy.ts): `managed`, the coordinator's current revision decides and
  // POLICY is only its bootstrap; `pinned`, POLICY is always current and the API changes nothing.
  POLICY_MODE: z.enum(['managed', 'pinned']).default('managed'),
})

export interface Config {
  apiToken: string
  policy: Policy
  /** The policy's budget and quotas, worked out once (policy/limits.ts). */
  limits: Limits
  upstream: {
    baseUrl: string
    timeoutMs: number
    maxAttempts: number
    retryBaseMs: number
  }
  maxBodyBytes: number
  audit: { signingKey: string; retentionDays: number; attestKey: PrivateJwk }
  /** Set when Cloudflare Access identities are accepted (see `identity/access.ts`). */
  access?: AccessConfig
  /**
   * Where the policy comes from (issue 20, control/served-policy.ts): the mode, and the POLICY
   * secret's canonical JSON (the bootstrap revision, or the pinned one). `policy` and `limits`
   * above are the secret's until the request's served configuration replaces them.
   */
  policySource: { mode: 'managed' | 'pinned'; document: string }
  /** The id of the revision `policy` is (set on the served configuration; absent before). */
  policyRevision?: string
}

export interface AccessConfig {
  /** The team domain's origin, e.g. `https://acme.cloudflareaccess.com`: the tokens' `iss`. */
  teamDomain: string
  /** The Access application's audience tag: must be in the tokens' `aud`. */
  audience: string
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] }

export function readConfig(env: Record<string, unknown>): ConfigResult {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    return {
      ok: false,
      problems: problemsOf(parsed.error).map((p) => `${p.pointer.slice(1)}: ${p.message}`),
    }
  }
  const vars = parsed.data
  const policy = parsePolicy(vars.POLICY)
  if (!policy.ok) {
    return { ok: false, problems: policy.problems.map((p) => `POLICY${p.pointer}: ${p.message}`) }
  }
  if (demoPolicyFrontsCloudflare(policy.policy, vars.UPSTREAM_BASE_URL)) {
    return {
      ok: false,
      problems: [
        'POLICY: the demo policy (published keys) must never front the real Cloudflare API: ' +
          'write your own policy with your teams, mint each member a key with `npm run key`, ' +
          'check it with `npm run policy:check` and set it with `wrangler secret put POLICY`',
      ],
    }
  }
  if (demoAuditKeyFrontsCloudflare(vars.AUDIT_ED25519_PRIVATE_KEY.x, vars.UPSTREAM_BASE_URL)) {
    return {
      ok: false,
      problems: [
        'AUDIT_ED25519_PRIVATE_KEY: a published demo or test key must never sign for the real Cloudflare API (npm run audit:key)',
      ],
    }
  }
  if ((vars.ACCESS_TEAM_DOMAIN === undefined) !== (vars.ACCESS_AUD === undefined)) {
    return {
      ok: false,
      problems: ['ACCESS_TEAM_DOMAIN and ACCESS_AUD: set both (Cloudflare Access) or neither'],
    }
  }
  return {
    ok: true,
    config: {
      apiToken: vars.CLOUDFLARE_API_TOKEN,
      policy: policy.policy,
      limits: limitsOf(policy.policy),
      upstream: {
        baseUrl: vars.UPSTREAM_BASE_URL,
        timeoutMs: vars.UPSTREAM_TIMEOUT_MS,
        maxAttempts: vars.UPSTREAM_MAX_ATTEMPTS,
        retryBaseMs: vars.UPSTREAM_RETRY_BASE_MS,
      },
      maxBodyBytes: vars.MAX_BODY_BYTES,
      policySource: { mode: vars.POLICY_MODE, document: canonical(JSON.parse(vars.POLICY)) },
      ...(vars.ACCESS_TEAM_DOMAIN !== undefined && vars.ACCESS_AUD !== undefined
        ? { access: { teamDomain: vars.ACCESS_TEAM_DOMAIN, audience: vars.ACCESS_AUD } }
        : {}),
      audit: {
        signingKey: vars.AUDIT_SIGNING_KEY,
        retentionDays: vars.AUDIT_RETENTION_DAYS,
        attestKey: vars.AUDIT_ED25519_PRIVATE_KEY,
      },
    },
  }
}

const memo = new WeakMap<object, ConfigResult>()

/** The checked configuration for this `env`, or a 503 if it is unusable (logged once per isolate). */
export function configFor(env: object): Config {
  let result = memo.get(env)
  if (result === undefined) {
    result = readConfig(env as Record<string, unknown>)
    memo.set(env, result)
    if (!result.ok) console.error('mtls-gateway refuses to serve:', result.problems.join('; '))
  }
  if (!result.ok) throw GatewayError.of('MISCONFIGURED')
  return result.config
}
