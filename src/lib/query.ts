/**
 * Query-string values that several routes parse the same way. A query string carries only text,
 * so a flag arrives as the word `true` or `false` and nothing else is taken for one.
 */
import { z } from '@hono/zod-openapi'

/** `true` or `false` as a boolean; the message names the parameter. */
export const booleanFlag = (name: string) =>
  z
    .enum(['true', 'false'], { message: `${name} must be true or false` })
    .transform((value) => value === 'true')
