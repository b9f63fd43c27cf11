/**
 * The gateway's one error type and its code table.
 *
 * Every failure the gateway itself decides is raised once as a `GatewayError` and rendered once, by
 * `app.onError`, into the upstream's envelope. Gateway codes live in the 18000-18999 range so they
 * never collide with an upstream code (upstream codes we relay keep their own numbers).
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status'

export interface ErrorDetail {
  code: number
  message: string
  documentation_url?: string
  source?: { pointer: string }
}

/** Code → HTTP status and a default message. test/unit/docs.test.ts checks docs/errors.md's table against it. */
export const ERROR_CODES = {
  // Authentication (401)
  MISSING_CREDENTIALS: {
    code: 18001,
    status: 401,
    message: 'Missing credentials: send Authorization: Bearer <gateway key>',
  },
  MALFORMED_CREDENTIALS: {
    code: 18002,
    status: 401,
    message: 'Malformed credentials: expected Authorization: Bearer mtlsgw_<key>',
  },
  UNKNOWN_KEY: { code: 18003, status: 401, message: 'Unknown gateway key' },
  EXPIRED_KEY: { code: 18004, status: 401, message: 'This gateway key has expired' },
  REVOKED_KEY: { code: 18005, status: 401, message: 'This gateway key has been revoked' },
  // Cloudflare Access identities (identity/access.ts); an expired or revoked member is 18004/18005.
  INVALID_ACCESS_TOKEN: { code: 18006, status: 401, message: 'Invalid Cloudflare Access token' },
  ACCESS_NOT_A_MEMBER: {
    code: 18007,
    status: 401,
    message: 'This Cloudflare Access identity is not a member of any team',
  },
  ACCESS_KEYS_UNAVAILABLE: {
    code: 18008,
    status: 502,
    message: "Cloudflare Access tokens cannot be checked: the team's signing keys are unavailable",
  },
  // The review console (src/console/): its own pages, which the API's credentials never reach.
  CONSOLE_SESSION_INVALID: {
    code: 18010,
    status: 401,
    message: 'No valid console session (missing, forged, expired or signed out): sign in again',
  },
  CONSOLE_FORM_REFUSED: {
    code: 18011,
    status: 403,
    message:
      'Refused: a console form must be posted from the console itself (same Origin, with its CSRF token)',
  },
  CONSOLE_SESSIONS_UNAVAILABLE: {
    code: 18012,
    status: 503,
    message: 'Console sessions cannot be checked (the CONSOLE_SESSIONS namespace is unavailable)',
  },

  // Request validation (400, 413, 415)
  INVALID_ACCOUNT_ID: {
    code: 18101,
    status: 400,
    message: 'account_id must be 32 lowercase hexadecimal characters',
  },
  INVALID_CERTIFICATE_ID: {
    code: 18102,
    status: 400,
    message: 'mtls_certificate_id must be a lowercase UUID or 32 lowercase hexadecimal characters',
  },
  INVALID_QUERY: { code: 18103, status: 400, message: 'Invalid query parameter' },
  MALFORMED_JSON: { code: 18110, status: 400, message: 'The request body is not valid JSON' },
  INVALID_BODY: { code: 18111, status: 400, message: 'Invalid request body' },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 18112,
    status: 415,
    message:
      'The request body must be JSON (Content-Type: application/json, or text/plain in UTF-8)',
  },
  BODY_TOO_LARGE: { code: 18113, status: 413, message: 'The request body is too large' },
  CERTIFICATE_UNPARSABLE: {
    code: 18120,
    status: 400,
    message: 'certificates must hold one or more well-formed PEM certificates',
  },
  CERTIFICATE_FOREIGN_BLOCK: {
    code: 18121,
    status: 400,
    message: 'certificates must hold only PEM certificates',
  },
  CERTIFICATE_NOT_CA: {
    code: 18122,
    status: 400,
    message: 'ca is true but the first certificate is not a CA (basicConstraints CA:TRUE)',
  },
  PRIVATE_KEY_UNPARSABLE: {
    code: 18123,
    status: 400,
    message:
      'private_key must be one unencrypted PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC on P-256, P-384, P-521)',
  },
  PRIVATE_KEY_MISMATCH: {
    code: 18124,
    status: 400,
    message: "private_key does not match the first certificate's public key",
  },
  // In certificates or private_key; the pointer names the field.
  PEM_ENCRYPTED: {
    code: 18125,
    status: 400,
    message:
      'An encrypted PEM block (ENCRYPTED PRIVATE KEY, or Proc-Type: 4,ENCRYPTED) cannot be used: send it decrypted',
  },
  PEM_HEADERS: {
    code: 18126,
    status: 400,
    message: 'PEM blocks must not carry header lines: send the base64 alone between BEGIN and END',
  },

  // Routing
  // Team-scoped access (policy, ownership, guarded deletes, approvals)
  DENIED: { code: 18301, status: 403, message: 'Denied by policy' },
  CERTIFICATE_IN_USE: {
    code: 18302,
    status: 400,
    message: 'The certificate is in use by Cloudflare services; remove those associations first',
  },
  APPROVAL_PENDING: { code: 18303, status: 202, message: 'The delete awaits a second approver' },
  APPROVAL_NOT_FOUND: { code: 18304, status: 404, message: 'No such approval' },
  SELF_APPROVAL: {
    code: 18305,
    status: 403,
    message: 'A delete cannot be approved by the member who requested it',
  },
  APPROVAL_EXPIRED: {
    code: 18307,
    status: 410,
    message: 'This approval has expired; request the delete again',
  },
  APPROVAL_CLOSED: { code: 18308, status: 409, message: 'This approval has already been used' },
  // A parked delete is an error to Cloudflare's clients (the SDK raises, wrangler exits non-zero):
  // nothing was deleted. 403, not 409 or 5xx, so that neither client retries it by itself.
  APPROVAL_REQUIRED: {
    code: 18309,
    status: 403,
    message: 'Not deleted: the delete awaits the approval of a second member',
  },
  // The policy's quota of CA certificates per team and account (policy/limits.ts). 403, not 429:
  // waiting does not help, deleting one of the team's CA certificates does.
  CA_QUOTA_EXCEEDED: {
    code: 18310,
    status: 403,
    message: "Refused: the team's quota of CA certificates in this account is used up",
  },
  OWNERSHIP_NOT_RECORDED: {
    code: 18321,
    status: 200,
    message:
      'Uploaded, but its owner could not be recorded yet; the gateway will adopt it on a later read',
  },
  UNKNOWN_TEAM: { code: 18330, status: 400, message: 'No such team in the policy' },
  // What the ledger does when the upstream or a quota says no (ownership/assign.ts, transfers).
  // 403 like 18310: waiting does not help; the admin's explicit override does.
  ASSIGN_OVER_CA_QUOTA: {
    code: 18340,
    status: 403,
    message:
      'Not assigned: the team\'s quota of CA certificates in this account is used up; send "override_quota": true to assign it all the same',
  },
  // A certificate another team holds (ownership/transfer.ts): 409, with x-should-retry: false,
  // because the SDK would otherwise retry a 409 by itself; nothing it retries could change it.
  DUPLICATE_HELD_ELSEWHERE: {
    code: 18341,
    status: 409,
    message:
      'This certificate already exists in this account, held by another team or by none: ask for a transfer',
  },
  TRANSFER_NOT_FOUND: { code: 18342, status: 404, message: 'No such transfer request' },
  TRANSFER_CLOSED: {
    code: 18343,
    status: 409,
    message: 'This transfer request is no longer pending (executed, being approved, or expired)',
  },
  TRANSFER_NOT_NEEDED: {
    code: 18344,
    status: 409,
    message: 'Your team can already see this certificate',
  },
  ACCOUNT_NOT_FOUND: { code: 18404, status: 404, message: 'No such account' },
  // The upstream's own not-found, answered by the gateway too for a certificate the caller may not
  // see, so that the two cannot be told apart (same status, code and message).
  CERTIFICATE_NOT_FOUND: { code: 1472, status: 404, message: 'Certificate not found' },

  NO_ROUTE: { code: 7003, status: 404, message: 'No route for the URI' },
  METHOD_NOT_ALLOWED: { code: 18405, status: 405, message: 'Method not allowed for this route' },

  // Audit trail (184xx, except 18405 above)
  AUDIT_UNAVAILABLE: {
    code: 18401,
    status: 503,
    message: 'The audit log cannot be written, so this change was refused and not forwarded',
  },

  // Gateway and upstream failures (5xx)
  INTERNAL: { code: 18500, status: 500, message: 'Internal gateway error' },
  MISCONFIGURED: {
    code: 18501,
    status: 503,
    message: 'The gateway is misconfigured and refuses to serve; see its logs',
  },
  UPSTREAM_BAD_RESPONSE: {
    code: 18502,
    status: 502,
    message: 'The upstream answered with something that is not a Cloudflare API envelope',
  },
  UPSTREAM_UNREACHABLE: {
    code: 18503,
    status: 502,
    message: 'The upstream could not be reached or dropped the connection',
  },
  UPSTREAM_TIMEOUT: { code: 18504, status: 504, message: 'The upstream did not answer in time' },
  UPSTREAM_CREDENTIALS_REJECTED: {
    code: 18505,
    status: 502,
    message: "The upstream rejected the gateway's own API token",
  },
  UPSTREAM_FAILED: {
    code: 18506,
    status: 502,
    message: 'The upstream failed to process the request',
  },
  // The coordinator Durable Object (src/coordinator/): everything that needs it fails closed.
  COORDINATOR_UNAVAILABLE: {
    code: 18507,
    status: 503,
    message:
      'The coordinator cannot be reached, so this request was refused and nothing was forwarded',
  },
  // The shared token's budget (policy/limits.ts, coordinator/budget.ts): the gateway's own 429s,
  // with retry-after, so that no team can push the token into the upstream's lockout.
  BUDGET_EXHAUSTED: {
    code: 18429,
    status: 429,
    message: "The team's share of the upstream budget is used up for now",
  },
  // Each member's rate (policy `limits`, identity/member-rate.ts): every authenticated request.
  MEMBER_RATE_EXCEEDED: {
    code: 18440,
    status: 429,
    message: 'Too many requests from this member for now; retry after retry-after',
  },
  BREAKER_OPEN: {
    code: 18430,
    status: 429,
    message:
      'The upstream rate-limited the shared token; the gateway holds every request until retry-after has passed',
  },
  // Issue 23 (lifecycle): acknowledgements and rotation pairing (18390-18399).
  NOTICE_NOT_FOUND: {
    code: 18390,
    status: 404,
    message: 'No notice of this certificate at that horizon to acknowledge',
  },
  ROTATION_NOT_READY: {
    code: 18391,
    status: 409,
    message:
      'Not deleted: its successor is missing, expired, or not yet in use by every service this certificate served',
  },
  SUCCESSOR_NOT_FOUND: {
    code: 18392,
    status: 404,
    message: 'No such successor certificate (or not one you can see)',
  },
  // Lifecycle (issue 23): dead notices re-queued.
  DEAD_NOTICE_NOT_FOUND: {
    code: 18393,
    status: 404,
    message: 'No undeliverable (dead) notice with this id in this account',
  },
  SUCCESSOR_IS_ITSELF: {
    code: 18020,
    status: 400,
    message: 'A certificate cannot be its own successor',
  },
  // Issue 20: policy changes (control/propose.ts).
  POLICY_DOCUMENT_INVALID: {
    code: 18030,
    status: 400,
    message:
      'The proposed policy has problems (each with its JSON pointer), as policy:check reports them',
  },
  POLICY_PINNED: {
    code: 18350,
    status: 409,
    message: 'The policy is pinned (POLICY_MODE=pinned): change it in git and deploy it',
  },
  POLICY_BASE_STALE: {
    code: 18351,
    status: 409,
    message:
      'The base revision is no longer the current one: diff against the current one and propose again',
  },
  POLICY_PROPOSAL_NOT_FOUND: { code: 18352, status: 404, message: 'No such policy proposal' },
  POLICY_PROPOSAL_CLOSED: {
    code: 18353,
    status: 409,
    message: 'This policy proposal is no longer pending (applied, rejected, stale or expired)',
  },
  POLICY_SELF_APPROVAL: {
    code: 18354,
    status: 403,
    message: 'A widening policy change needs a second member: its author cannot approve it',
  },
  POLICY_UNCHANGED: {
    code: 18355,
    status: 409,
    message: 'The proposed policy is the current revision already',
  },
  POLICY_REVISION_NOT_FOUND: { code: 18356, status: 404, message: 'No such policy revision' },
  // Issue 20, slice 4: members and keys without a deploy (control/members.ts).
  MEMBERS_NOT_ALLOWED: {
    code: 18131,
    status: 403,
    message: "Only a lead of the team (or an admin) may manage its members' keys",
  },
  MEMBER_KEY_NOT_FOUND: { code: 18360, status: 404, message: 'No such member key' },
  MEMBER_ROLE_NOT_GRANTABLE: {
    code: 18361,
    status: 403,
    message:
      'A lead cannot grant this role (it may delete, approve, change the policy or lead): propose a policy change',
  },
  MEMBER_ID_TAKEN: {
    code: 18362,
    status: 409,
    message: 'This member id belongs to a member of the policy or of another team',
  },
  MEMBER_KEY_ENDED: {
    code: 18363,
    status: 409,
    message: 'This key is already revoked or expired: a lead mints a new one',
  },
  // Issue 20: policy revisions (control/served-policy.ts): without the current one, nothing is served.
  POLICY_UNAVAILABLE: {
    code: 18515,
    status: 503,
    message:
      'The current policy revision cannot be read, so the gateway refuses to serve until it can',
  },
  // Issue 22 (review): approvals withdrawn, rejected, or about a certificate that is gone.
  APPROVAL_NOT_REQUESTER: {
    code: 18370,
    status: 403,
    message: 'Only the member who requested this delete can withdraw it',
  },
  APPROVAL_OWN_REJECT: {
    code: 18371,
    status: 403,
    message: 'You requested this delete: withdraw it instead of rejecting it',
  },
  APPROVAL_CERTIFICATE_GONE: {
    code: 18372,
    status: 410,
    message:
      'The certificate no longer exists, so nothing was deleted: this approval is now closed',
  },
} as const satisfies Record<string, { code: number; status: ContentfulStatusCode; message: string }>

export type ErrorKind = keyof typeof ERROR_CODES

/** Fields an error adds beside the envelope's; it can never replace one of them. */
type ExtraFields = Record<string, unknown> & {
  success?: never
  errors?: never
  messages?: never
  result?: never
}

export class GatewayError extends Error {
  readonly status: ContentfulStatusCode
  readonly errors: ErrorDetail[]
  readonly headers: Record<string, string>
  /** Top-level fields rendered after the envelope's (the parked delete's `approval`). */
  readonly body: ExtraFields

  constructor(
    status: ContentfulStatusCode,
    errors: ErrorDetail[],
    options: {
      headers?: Record<string, string>
      cause?: unknown
      body?: ExtraFields
    } = {},
  ) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join('; '), { cause: options.cause })
    this.name = 'GatewayError'
    this.status = status
    this.errors = errors
    this.headers = options.headers ?? {}
    this.body = options.body ?? {}
  }

  /** The usual way to fail: one known kind, optionally a more precise message and a JSON pointer. */
  static of(
    kind: ErrorKind,
    options: {
      message?: string
      pointer?: string
      headers?: Record<string, string>
      cause?: unknown
      body?: ExtraFields
    } = {},
  ): GatewayError {
    return new GatewayError(
      ERROR_CODES[kind].status,
      [detail(kind, options.message, options.pointer)],
      options,
    )
  }
}

export function detail(kind: ErrorKind, message?: string, pointer?: string): ErrorDetail {
  const { code, message: fallback } = ERROR_CODES[kind]
  return pointer === undefined
    ? { code, message: message ?? fallback }
    : { code, message: message ?? fallback, source: { pointer } }
}
