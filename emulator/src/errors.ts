/**
 * Owns: every error the emulated API can answer, as one table of (status, code, message).
 *
 * Codes marked "contract" are quoted from upstream-contract.md; the others are choices made where
 * the contract says [I] or [?], each explained in README.md ("Errors"). Handlers throw `ApiError`;
 * one `onError` (see `envelope.ts`) renders it in the upstream's error envelope. Never reuse a code
 * here for a second meaning: the gateway and its tests match on them.
 */

import type { ContentfulStatusCode } from 'hono/utils/http-status'

export type ErrorItem = {
  code: number
  message: string
  error_chain?: ErrorItem[]
  source?: { pointer: string }
}

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly errors: [ErrorItem, ...ErrorItem[]],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors[0].message)
    this.name = 'ApiError'
  }
}

function fail(status: ContentfulStatusCode, code: number, message: string): ApiError {
  return new ApiError(status, [{ code, message }])
}

export const apiErrors = {
  /** contract §5 (code and message); status 400 chosen. */
  missingCredentials: () =>
    fail(400, 9106, 'Missing X-Auth-Key, X-Auth-Email or Authorization headers'),
  /** contract §5 (6003 shape); 6111 for the Authorization header chosen by analogy with 6103. */
  malformedAuthorization: () =>
    new ApiError(400, [
      {
        code: 6003,
        message: 'Invalid request headers',
        error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
      },
    ]),
  /** contract §5: 403 + 10000. */
  authentication: () => fail(403, 10000, 'Authentication error'),
  /** code 971 and message seen in real answers (workers-sdk #10025); contract §5 leaves it [?]. */
  rateLimited: (headers: Record<string, string>) =>
    new ApiError(
      429,
      [{ code: 971, message: 'Please wait and consider throttling your request speed' }],
      headers,
    ),
  /** 6007 as the v4 API answers malformed JSON elsewhere; not in the contract. */
  malformedJson: () => fail(400, 6007, 'Malformed JSON in request body'),
  /** chosen: one code for every invalid or missing body field, each with a JSON pointer. */
  invalidFields: (items: { message: string; pointer: string }[]) =>
    new ApiError(
      400,
      (items.length > 0 ? items : [{ message: 'Invalid request body', pointer: '' }]).map(
        ({ message, pointer }) => ({ code: 1470, message, source: { pointer } }),
      ) as [ErrorItem, ...ErrorItem[]],
    ),
  /** chosen: a list query parameter with a value it cannot take (`ca=yes`), with a pointer. */
  invalidQuery: (parameter: string, message: string) =>
    new ApiError(400, [{ code: 1473, message, source: { pointer: `/${parameter}` } }]),
  /** message from contract §4/§6; code 1476 and status 400 chosen. */
  unparsableCertificate: () => fail(400, 1476, 'unable to parse certificate'),
  /** message by analogy with 1476; code 1479 and status 400 chosen (contract §1 has no key errors). */
  unparsablePrivateKey: () => fail(400, 1479, 'unable to parse private key'),
  /** contract §4 CA requirements; code 1477 and messages chosen. */
  notACaCertificate: (reason: string) => fail(400, 1477, reason),
  /** contract §3 (code and message); status 400 chosen. */
  duplicateCertificate: () => fail(400, 1471, 'This certificate already exists'),
  /** contract §4 (code and message); status 400 chosen. */
  caQuotaReached: () => fail(400, 1489, 'Hit maximum CA cert allocation.'),
  /** contract §3: 404 + 1472. */
  certificateNotFound: () => fail(404, 1472, 'Certificate not found'),
  /** contract §4: delete fails while in use; 400 and 1478 chosen (not 409: the SDK retries it). */
  certificateInUse: () =>
    fail(
      400,
      1478,
      'Certificate is in use by one or more services; remove its associations before deleting it',
    ),
  /** contract §5 (7003); status 404. */
  noRoute: () => fail(404, 7003, 'No route for the URI'),
  /** 7001 chosen for a known path with an unsupported method. */
  methodNotAllowed: () => fail(405, 7001, 'Method not allowed for this route'),
} as const
