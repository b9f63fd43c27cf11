/**
 * Turns zod issues into (JSON pointer, message) pairs.
 *
 * Zod 4 only carries its issues structurally in `error.issues`; its `message` is a JSON string and
 * must never reach a caller. Unknown keys are reported one pointer per key, so a caller sees
 * exactly which field to remove.
 */
import type { z } from '@hono/zod-openapi'

export interface Problem {
  pointer: string
  message: string
  /** Set by refinements that carry their own gateway error kind (see `certificates/schemas.ts`). */
  kind?: string
}

export function toPointer(path: readonly PropertyKey[]): string {
  return path.map((part) => '/' + String(part).replaceAll('~', '~0').replaceAll('/', '~1')).join('')
}

export function problemsOf(error: z.ZodError): Problem[] {
  return error.issues.flatMap((issue): Problem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        pointer: toPointer([...issue.path, key]),
        message: `${key} is not an accepted field`,
      }))
    }
    const kind =
      issue.code === 'custom' && typeof issue.params?.kind === 'string'
        ? issue.params.kind
        : undefined
    return [{ pointer: toPointer(issue.path), message: issue.message, ...(kind ? { kind } : {}) }]
  })
}
