/**
 * The audit page's filter form, read with the review API's own schemas (audit/routes.ts): the
 * form's fields are the API's query parameters, by the same names, so the page filters exactly as
 * `GET /gateway/v1/audit` does and refuses what it refuses (test/console/openapi.test.ts keeps the
 * two one source). Two things only are the form's own: an empty field means "any" (a form sends
 * every field), and `datetime-local` inputs, which carry no zone, are read as UTC.
 */
import { z } from '@hono/zod-openapi'
import { auditQuery, exportQuery } from '../audit/routes'
import { positionOf, type Filters, type Query } from '../audit/query'
import type { TimeRange } from '../audit/store'
import { capped, problemsOf, type Problem } from '../lib/zod-issues'

const DAY_MS = 86_400_000
/** A page opened without a query shows the last day: the usual question is about lately. */
export const DEFAULT_SPAN_MS = DAY_MS

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
export const toLocalInput = (ms: number) => new Date(ms).toISOString().slice(0, 16)

export type AuditParams = z.output<typeof auditQuery>
export type ExportParams = z.output<typeof exportQuery>

export type Read<T> = { ok: true; params: T } | { ok: false; problems: Problem[] }

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

export function rangeOf(
  params: { from?: string; to?: string },
  retentionDays: number,
  now: number,
): TimeRange {
  const to = params.to === undefined ? now : Date.parse(params.to)
  const from = params.from === undefined ? to - retentionDays * DAY_MS : Date.parse(params.from)
  return { from, to, endsNow: to >= now }
}

export function filtersOf(params: AuditParams | ExportParams): Filters {
  const { request_id: requestId, team, member, action, decision, outcome, certificate } = params
  return { team, member, action, decision, outcome, certificate, requestId }
}

/** A validated form as a store query, as the review API builds one (audit/handlers.ts). */
export function queryOf(
  params: AuditParams | ExportParams,
  retentionDays: number,
  now: number,
): Query {
  const filters = filtersOf(params)
  return {
    ...filters,
    range: rangeOf(params, retentionDays, now),
    limit: params.limit,
    cursor: positionOf(params.cursor),
  }
}
