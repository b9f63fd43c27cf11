/**
 * The audit page's filter form, read with the review API's own schemas (audit/routes.ts): the
 * form's fields are the API's query parameters, by the same names, so the page filters exactly as
 * `GET /gateway/v1/audit` does and refuses what it refuses (test/console/openapi.test.ts keeps the
 * two one source). Two things only are the form's own: an empty field means "any" (a form sends
 * every field), and `datetime-local` inputs, which carry no zone, are read as UTC. What a valid
 * form then means is the review API's own `queryOf` (audit/review.ts).
 */
import { z } from '@hono/zod-openapi'
import { auditQuery, exportQuery } from '../audit/routes'
import { GatewayError, detail } from '../lib/errors'
import { capped, problemsOf, type Problem } from '../lib/zod-issues'

/** A page opened without a query shows the last day: the usual question is about lately. */
const DEFAULT_SPAN_MS = 86_400_000

const LOCAL_MINUTES = /^\d{4}-\d\d-\d\dT\d\d:\d\d$/
const LOCAL_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/

function asUtc(value: string): string {
  if (LOCAL_MINUTES.test(value)) return `${value}:00Z`
  if (LOCAL_SECONDS.test(value)) return `${value}Z`
  return value
}

/** The form as the API's query: empty fields dropped, zoneless times read as UTC. */
export function formToQuery(params: Record<string, string>): Record<string, string> {
  const query: Record<string, string> = {}
  for (const [name, value] of Object.entries(params)) {
    const trimmed = value.trim()
    if (trimmed === '') continue
    query[name] = name === 'from' || name === 'to' ? asUtc(trimmed) : trimmed
  }
  return query
}

/** What the form shows in a `datetime-local` input for an instant (UTC, to the minute). */
const toLocalInput = (ms: number) => new Date(ms).toISOString().slice(0, 16)

type Read<T> = { ok: true; params: T } | { ok: false; problems: Problem[] }

function read<T>(schema: z.ZodType<T>, params: Record<string, string>): Read<T> {
  const parsed = schema.safeParse(formToQuery(params))
  return parsed.success
    ? { ok: true, params: parsed.data }
    : { ok: false, problems: capped(problemsOf(parsed.error)) }
}

export const readAuditForm = (params: Record<string, string>) => read(auditQuery, params)
export const readExportForm = (params: Record<string, string>) => read(exportQuery, params)

/** The form opened with nothing chosen: the last day, newest first. */
export function defaultsFor(now: number): Record<string, string> {
  return { from: toLocalInput(now - DEFAULT_SPAN_MS) }
}

/**
 * Issue 22 (review-audit): what the page shows for a query. Changes only unless the query says
 * otherwise (reads, page views included, are one choice away); the last day only when the page is
 * opened with no query at all, and then that range is not put in the form's From field, so a
 * search made from the default view is over everything kept, never silently over the last day.
 */
export function consoleView(
  raw: Record<string, string>,
  now: number,
): { values: Record<string, string>; defaultRange: boolean } {
  const defaultRange = Object.keys(raw).length === 0
  return {
    values: {
      changes_only: 'true',
      page_views: 'hide',
      ...(defaultRange ? defaultsFor(now) : {}),
      ...raw,
    },
    defaultRange,
  }
}

/** The list's query an entry page carries, so that its way back keeps the filters and the page. */
export function listQueryOf(params: Record<string, string>): Record<string, string> {
  const names = new Set([...Object.keys(auditQuery.shape), 'cursor'])
  return Object.fromEntries(Object.entries(params).filter(([name]) => names.has(name)))
}

/** An invalid form's refusal, as the review API gives it: 400, one error per field. */
export const formRefusal = (problems: Problem[]) =>
  new GatewayError(
    400,
    problems.map((p) => detail('INVALID_QUERY', p.message, p.pointer)),
  )
