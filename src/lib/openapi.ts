/**
 * What /openapi.json says besides the routes' schemas, in one place, so that a developer portal
 * can render it as it is (Redocly's recommended lint, checked in test/e2e/openapi.contract.test.ts):
 * the document's frame (servers, licence, contact, the declared tags) and the building blocks every
 * route definition shares, so that every feature's route file describes its answers the same way.
 *
 * The gateway's error responses are declared here once, from the code table (errors.ts): each
 * route names the kinds of failure it adds to those every operation can answer (`failures`), and
 * the statuses, descriptions and one example per code follow from the table. A new kind, or a
 * route that can now answer one, is one edit in the route's list, never a second description.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi'
import { errorEnvelopeSchema } from './envelope'
import { ERROR_CODES, type ErrorKind } from './errors'
import { validationKinds, type ValidatedRequest } from './validation-hook'

/** The tags operations are grouped by, each declared once in the document with what it holds. */
export const TAGS = {
  certificates: {
    name: 'mTLS Certificate Management',
    description:
      "Cloudflare's five mTLS certificate endpoints at their own paths under /client/v4, scoped to the caller's team: a Cloudflare client changes only its base URL and token.",
  },
  caller: {
    name: 'Caller',
    description:
      'Who the gateway takes the caller for, and what the policy would decide for them, without doing it.',
  },
  approvals: {
    name: 'Approvals',
    description:
      'Deletes the policy parks until a second member approves them: list, read and approve.',
  },
  ownership: {
    name: 'Ownership',
    description:
      "Which team owns a certificate: an admin's assignment, and transfer requests between teams.",
  },
  budget: {
    name: 'Budget',
    description:
      "The shared token's budget with the upstream: closing the breaker the upstream's rate limit opened.",
  },
  audit: {
    name: 'Audit',
    description:
      'The audit log, for auditors: query, export, verify the entries and their hash chains, and collect the signed checkpoints.',
  },
  // Issue 20
  policy: {
    name: 'Policy',
    description:
      "The policy as versioned data: its revisions, proposed changes with their structural and exhaustive access diffs, a second member's approval of widening ones, rollbacks.",
  },
} as const

/** A route's tag list: one declared tag. */
export const tagged = (tag: keyof typeof TAGS) => [TAGS[tag].name]

/** /openapi.json's frame; the paths and schemas come from the routes themselves. */
export const API_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'mtls-gateway',
    version: '1',
    description:
      "Cloudflare's mTLS certificate API, scoped per team, behind one shared API token. The review console's HTML pages (/console) are for browsers and deliberately not described here.",
    // package.json says the same: the project is private and ships no licence.
    license: {
      name: 'UNLICENSED: private, all rights reserved',
      identifier: 'LicenseRef-UNLICENSED',
    },
    contact: { name: 'The platform team that operates this gateway' },
  },
  servers: [
    { url: '/', description: 'This gateway: the origin that served this document' },
    {
      url: 'https://{gateway_host}',
      description: 'A deployed gateway (a workers.dev subdomain, a route or a custom domain)',
      variables: {
        gateway_host: {
          default: 'mtls-gateway.your-subdomain.workers.dev',
          description: "The gateway's host name",
        },
      },
    },
  ],
  tags: Object.values(TAGS).map((tag) => ({ ...tag })),
  // Every endpoint takes either; the Access assertion wins when Access is configured (docs/operators.md).
  security: [{ gatewayKey: [] }, { accessAssertion: [] }] as Record<string, string[]>[],
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
})

/** Cloudflare's success envelope around `result`, with `result_info` when the result is a page. */
export const successEnvelope = <T extends z.ZodType>(result: T, resultInfo?: z.ZodType) =>
  z.object({
    success: z.literal(true),
    errors: z.array(z.unknown()),
    messages: z.array(z.unknown()),
    result,
    ...(resultInfo ? { result_info: resultInfo } : {}),
  })

/** A JSON success answer: the envelope around `result`. */
export const ok = <T extends z.ZodType>(result: T, description: string) =>
  jsonContent(successEnvelope(result), description)

/**
 * What any authenticated operation can answer, whatever it does: the credentials refused (or
 * Access's keys unavailable), the policy's refusal, the member's rate, a configuration the gateway
 * will not serve with, and its own failure.
 */
const EVERY_OPERATION = [
  'MISSING_CREDENTIALS',
  'MALFORMED_CREDENTIALS',
  'UNKNOWN_KEY',
  'EXPIRED_KEY',
  'REVOKED_KEY',
  'INVALID_ACCESS_TOKEN',
  'ACCESS_NOT_A_MEMBER',
  'ACCESS_KEYS_UNAVAILABLE',
  'DENIED',
  'MEMBER_RATE_EXCEEDED',
  'INTERNAL',
  'MISCONFIGURED',
  'POLICY_UNAVAILABLE', // issue 20: managed mode, the current revision unreadable
] as const satisfies readonly ErrorKind[]

/** What an operation that calls the upstream adds: the budget gate (which needs the coordinator) and the upstream's failures. */
export const UPSTREAM_CALL = [
  'BUDGET_EXHAUSTED',
  'BREAKER_OPEN',
  'COORDINATOR_UNAVAILABLE',
  'UPSTREAM_BAD_RESPONSE',
  'UPSTREAM_UNREACHABLE',
  'UPSTREAM_CREDENTIALS_REJECTED',
  'UPSTREAM_FAILED',
  'UPSTREAM_TIMEOUT',
] as const satisfies readonly ErrorKind[]

/** What an operation that changes something adds: it is on record (and chained) first, or refused. */
export const CHANGE = [
  'AUDIT_UNAVAILABLE',
  'COORDINATOR_UNAVAILABLE',
] as const satisfies readonly ErrorKind[]

/** What a route that takes a body adds, before its schema sees it (lib/json-body.ts). */
const BODY_READ = [
  'MALFORMED_JSON',
  'UNSUPPORTED_MEDIA_TYPE',
  'BODY_TOO_LARGE',
] as const satisfies readonly ErrorKind[]

type FailureStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 429 | 500 | 502 | 503 | 504

/** Each status's description, unless the route says it more precisely. */
const STATUS_TEXT: Record<FailureStatus, string> = {
  400: 'Invalid request: each error names its field in source.pointer',
  401: 'Not authenticated: missing, malformed, unknown, expired or revoked credentials',
  403: 'Refused (the message gives the reason)',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Body too large',
  415: 'Body is not JSON',
  429: 'Too many requests: retry after retry-after',
  500: 'Internal gateway error',
  502: 'A service the gateway depends on failed (nothing more was done)',
  503: 'Refused, fail-closed: the gateway cannot reach what it needs to do this safely',
  504: 'The upstream did not answer in time',
}

/**
 * The kinds some route declares: each has one example in the document's components, which the
 * responses refer to (the document would be three times its size with a copy in every response,
 * and a component no response uses is a lint warning). Filled as the route modules load.
 */
const declared = new Set<ErrorKind>()

/** Registers the example of every declared kind; the app calls it once, with its registry. */
export function registerErrorExamples(registry: OpenAPIHono['openAPIRegistry']) {
  for (const kind of [...declared].sort()) {
    const { code, message } = ERROR_CODES[kind]
    registry.registerComponent('examples', kind, {
      summary: `${code}: ${message}`,
      value: { success: false, errors: [{ code, message }], messages: [], result: null },
    })
  }
}

/** A failure answer, described by the codes it can carry, each with its example. */
function failureResponse(status: FailureStatus, kinds: ErrorKind[], note?: string) {
  for (const kind of kinds) declared.add(kind)
  const codes = kinds.map((kind) => ERROR_CODES[kind].code)
  return {
    description: `${note ?? STATUS_TEXT[status]}. Codes: ${codes.join(', ')}.`,
    content: {
      'application/json': {
        schema: errorEnvelopeSchema,
        examples: Object.fromEntries(
          kinds.map((kind) => [kind, { $ref: `#/components/examples/${kind}` }]),
        ),
      },
    },
  }
}

/**
 * The failure responses of one route: those every operation can answer, those its request's
 * validation can (validation-hook.ts), and the kinds it adds; `notes` words a status more
 * precisely for this route. Codes the upstream answers itself are relayed under its status.
 */
export function failures(
  request: ValidatedRequest | undefined,
  kinds: readonly ErrorKind[] = [],
  notes: Partial<Record<FailureStatus, string>> = {},
) {
  const all = new Set<ErrorKind>([
    ...EVERY_OPERATION,
    ...validationKinds(request),
    ...(request?.body ? BODY_READ : []),
    ...kinds,
  ])
  const byStatus = new Map<FailureStatus, ErrorKind[]>()
  for (const kind of all) {
    const status = ERROR_CODES[kind].status as number
    // 200 and 202 codes are messages on a success, not failures.
    if (status < 400) continue
    byStatus.set(status as FailureStatus, [...(byStatus.get(status as FailureStatus) ?? []), kind])
  }
  const responses: Partial<Record<FailureStatus, ReturnType<typeof failureResponse>>> = {}
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    responses[status] = failureResponse(status, byStatus.get(status)!, notes[status])
  }
  return responses
}
