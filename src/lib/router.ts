/**
 * The router factory. Every router is built here so that all of them share the one validation
 * hook (validation-hook.ts), which turns any schema failure into the envelope with a pointer.
 */
import { OpenAPIHono } from '@hono/zod-openapi'
import type { Env } from 'hono'
import { validationHook } from './validation-hook'

export function createRouter<E extends Env>() {
  return new OpenAPIHono<E>({ defaultHook: validationHook })
}
