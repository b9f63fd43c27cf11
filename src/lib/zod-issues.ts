/**
 * Turns zod issues into (JSON pointer, message) pairs.
 *
 * Zod 4 only carries its issues structurally in `error.issues`; its `message` is a JSON string and
 * must never reach a caller. Unknown keys are reported one pointer per key, so a caller sees
 * exactly which field to remove.
 *
 * An answer carries at most MAX_PROBLEMS of them (`capped`): a body of thousands of unknown keys
 * must not be answered with an error per key (a 65 KB body got 8,343 errors, a 698 KB answer).
 * The first MAX_PROBLEMS - 1 are reported as they are and the last one counts the rest, so the
 * caller still sees which fields to fix first and that there are more.
 */
import type { z } from '@hono/zod-openapi'

export interface Problem {
  pointer: string
  message: string
  /** Set by refinements that carry their own gateway error kind (see `certificates/schemas.ts`). */
  kind?: string
}

function toPointer(path: readonly PropertyKey[]): string {
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

/** The most errors one answer carries (docs/api.md, "What the gateway accepts"). */
export const MAX_PROBLEMS = 20

/**
 * At most MAX_PROBLEMS problems: the first MAX_PROBLEMS - 1 and one that counts the rest, at the
 * document's root (`''`), since the rest point at many places.
 */
export function capped(problems: Problem[]): Problem[] {
  if (problems.length <= MAX_PROBLEMS) return problems
  const shown = problems.slice(0, MAX_PROBLEMS - 1)
  const rest = problems.length - shown.length
  return [
    ...shown,
    { pointer: '', message: `and ${rest.toLocaleString('en-US')} more problems, not listed` },
  ]
}
