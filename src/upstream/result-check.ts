/**
 * Checks an upstream result against its schema (shapes.ts) without zod parsing it. A zod parse
 * builds a new object per certificate (and a new array per list), so a list of 1,000 costs a
 * thousand copies and their garbage on every request; these checks only read. The rule is the
 * schema's, compiled from it once at module load (so the two cannot drift): each documented field
 * is absent or of its type (or null where the schema allows null), required ones present, and
 * every other field passes through untouched, as the loose schemas do. What is checked is what is
 * returned: the caller's value, not a copy (field order as the upstream sent it).
 *
 * Only what shapes.ts uses is compiled (loose objects of strings and booleans, optional, nullable,
 * arrays of them); anything else throws at load, so a new kind of field cannot pass unchecked.
 */
import type { z } from '@hono/zod-openapi'

export type Checked<R> = { ok: true; value: R } | { ok: false; problem: string }

/** What a request's `result` must be (request.ts); `problem` names the first field that is wrong. */
export interface ResultCheck<R> {
  check(value: unknown): Checked<R>
}

type Primitive = 'string' | 'boolean'

interface FieldRule {
  key: string
  type: Primitive
  required: boolean
  nullable: boolean
}

interface ZodDef {
  type: string
  innerType?: { _zod: { def: ZodDef } }
  catchall?: { _zod: { def: ZodDef } }
}

const defOf = (schema: unknown): ZodDef => (schema as { _zod: { def: ZodDef } })._zod.def

function fieldRule(key: string, schema: unknown): FieldRule {
  let def = defOf(schema)
  let required = true
  let nullable = false
  for (;;) {
    if (def.type === 'optional') required = false
    else if (def.type === 'nullable') nullable = true
    else break
    def = def.innerType!._zod.def
  }
  if (def.type !== 'string' && def.type !== 'boolean') {
    throw new Error(`result-check: field ${key} is a ${def.type}, which it cannot check`)
  }
  return { key, type: def.type, required, nullable }
}

const received = (value: unknown) =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value

const pathOf = (index: number | undefined) => (index === undefined ? 'result' : `result[${index}]`)

/**
 * A loose object schema's rules, as a function that answers the first problem, or undefined. It
 * takes the item's index, not a path: the path is only built when something is wrong.
 */
function compileObject(schema: z.ZodObject) {
  const catchall = schema._zod.def.catchall
  if (catchall === undefined || defOf(catchall).type !== 'unknown') {
    throw new Error('result-check: only loose objects (z.looseObject) are compiled')
  }
  const rules = Object.entries(schema.shape).map(([key, field]) => fieldRule(key, field))
  return (value: unknown, index?: number): string | undefined => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return `${pathOf(index)}: expected an object, received ${received(value)}`
    }
    const record = value as Record<string, unknown>
    for (const rule of rules) {
      const field = record[rule.key]
      if (typeof field === rule.type) continue
      if (field === undefined ? !rule.required : field === null && rule.nullable) continue
      return `${pathOf(index)}.${rule.key}: expected ${rule.required ? 'a' : 'no value or a'} ${rule.type}${rule.nullable ? ' or null' : ''}, received ${received(field)}`
    }
    return undefined
  }
}

const ok = <R>(value: R): Checked<R> => ({ ok: true, value })
const wrong = <R>(problem: string): Checked<R> => ({ ok: false, problem })

export function objectCheck<S extends z.ZodObject>(schema: S): ResultCheck<z.output<S>> {
  const test = compileObject(schema)
  return {
    check(value) {
      const problem = test(value)
      return problem === undefined ? ok(value as z.output<S>) : wrong(problem)
    },
  }
}

/** An array of `item`; with `nullAsEmpty`, a null result is an empty list (shapes.ts says why). */
export function listCheck<S extends z.ZodObject>(
  item: S,
  options: { nullAsEmpty: boolean },
): ResultCheck<z.output<S>[]> {
  const test = compileObject(item)
  return {
    check(value) {
      if (value === null && options.nullAsEmpty) return ok([])
      if (!Array.isArray(value)) {
        return wrong(`result: expected an array, received ${received(value)}`)
      }
      for (let i = 0; i < value.length; i++) {
        const problem = test(value[i], i)
        if (problem !== undefined) return wrong(problem)
      }
      return ok(value as z.output<S>[])
    },
  }
}
