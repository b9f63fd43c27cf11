/**
 * The one place where a failed validation becomes an answer: every route's zod schemas report
 * here (it is the OpenAPIHono `defaultHook`). All problems of a request are reported together, each
 * with its code and a JSON pointer to the offending field (`/certificates`, `/account_id`, `/type`),
 * up to MAX_PROBLEMS (zod-issues.ts); the last of them then counts the rest.
 */
import type { z } from '@hono/zod-openapi'
import { ERROR_CODES, GatewayError, detail, type ErrorKind } from './errors'
import { capped, problemsOf } from './zod-issues'

type Target = 'param' | 'query' | 'json' | string

/** A path parameter's kind: the account id has its own, every other id shares one. */
const paramKind = (name: string): ErrorKind =>
  name === 'account_id' ? 'INVALID_ACCOUNT_ID' : 'INVALID_CERTIFICATE_ID'

function kindFor(target: Target, pointer: string, declared: string | undefined): ErrorKind {
  if (declared !== undefined && declared in ERROR_CODES) return declared as ErrorKind
  if (target === 'param') return paramKind(pointer.slice(1))
  return target === 'query' ? 'INVALID_QUERY' : 'INVALID_BODY'
}

/** The parts of a route's `request` this hook validates, as route definitions declare them. */
export interface ValidatedRequest {
  params?: { shape: Record<string, unknown> }
  query?: unknown
  body?: unknown
}

/**
 * The kinds this hook can answer for a route's request (lib/openapi.ts declares them), except those
 * a refinement carries itself (`params.kind`), which the route names.
 */
export function validationKinds(request: ValidatedRequest | undefined): ErrorKind[] {
  if (request === undefined) return []
  return [
    ...Object.keys(request.params?.shape ?? {}).map(paramKind),
    ...(request.query ? (['INVALID_QUERY'] as const) : []),
    ...(request.body ? (['INVALID_BODY'] as const) : []),
  ]
}

export function validationHook(
  result: { success: true } | { success: false; error: z.ZodError; target: Target },
) {
  if (result.success) return
  const details = capped(problemsOf(result.error)).map((problem) => {
    const kind = kindFor(result.target, problem.pointer, problem.kind)
    return detail(kind, problem.message, problem.pointer)
  })
  throw new GatewayError(400, details)
}
