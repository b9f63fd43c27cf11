/**
 * The certificate list as the certificates page and its CSV show it: the rows the member may see
 * (already decided by `listCertificates`), narrowed by the page's query (team, name), sorted
 * (expiry first by default), counted per team, and written as CSV. Plain data in, plain data out:
 * no Hono, no I/O, so the page and its export cannot disagree on which rows a query means.
 *
 * The query lives in the URL (`?team=&q=&sort=`), so a filtered view is a link that can be shared,
 * kept on the way back, and handed to the CSV export unchanged.
 */
import { expiryOf } from './format'

/** The team filter's value for certificates nobody owns: `_` ids are no team's (policy slugs). */
export const UNOWNED_TEAM = '_unowned'

export const SORTS = ['expiry', 'name', 'team'] as const
export type Sort = (typeof SORTS)[number]

export interface InventoryRow {
  accountId: string
  id: string
  name: string | undefined
  /** The owning team, undefined when unowned. */
  team: string | undefined
  ca: boolean | undefined
  issuer: string | undefined
  expiresOn: string | undefined
  /** Whole days left, negative once expired; undefined when the expiry is unknown. */
  days: number | undefined
}

export interface InventoryQuery {
  /** A team id, UNOWNED_TEAM, or undefined for every team. */
  team: string | undefined
  /** Part of the name (or the id), any case; undefined or empty for every name. */
  q: string | undefined
  sort: Sort
}

const MAX_SEARCH = 200

/** The page's query from its URL, unknown values read as "no filter" and the default sort. */
export function inventoryQuery(params: {
  team?: string | undefined
  q?: string | undefined
  sort?: string | undefined
}): InventoryQuery {
  const team = params.team?.trim() || undefined
  const q = params.q?.trim().slice(0, MAX_SEARCH) || undefined
  const sort = (SORTS as readonly string[]).includes(params.sort ?? '')
    ? (params.sort as Sort)
    : 'expiry'
  return { team, q, sort }
}

/** The query as URL parameters, defaults left out (the page's links and the CSV link). */
export function querySearch(query: InventoryQuery, override: Partial<InventoryQuery> = {}) {
  const { team, q, sort } = { ...query, ...override }
  const params = new URLSearchParams()
  if (team !== undefined) params.set('team', team)
  if (q !== undefined) params.set('q', q)
  if (sort !== 'expiry') params.set('sort', sort)
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

export const teamOf = (row: InventoryRow) => row.team ?? UNOWNED_TEAM

function matches(row: InventoryRow, query: InventoryQuery): boolean {
  if (query.team !== undefined && teamOf(row) !== query.team) return false
  if (query.q === undefined) return true
  const needle = query.q.toLowerCase()
  return (row.name ?? '').toLowerCase().includes(needle) || row.id.includes(needle)
}

/** Soonest expiry first (the expired at the top), unknown expiry last. */
const byExpiry = (a: InventoryRow, b: InventoryRow) =>
  (a.days ?? Number.POSITIVE_INFINITY) - (b.days ?? Number.POSITIVE_INFINITY) ||
  (Date.parse(a.expiresOn ?? '') || 0) - (Date.parse(b.expiresOn ?? '') || 0)
const byName = (a: InventoryRow, b: InventoryRow) =>
  // Nameless certificates after the named ones; the id keeps the order total.
  (a.name === undefined ? 1 : 0) - (b.name === undefined ? 1 : 0) ||
  (a.name ?? '').localeCompare(b.name ?? '') ||
  a.id.localeCompare(b.id)
/** Teams alphabetically, the unowned last. */
const byTeam = (a: InventoryRow, b: InventoryRow) =>
  (a.team === undefined ? 1 : 0) - (b.team === undefined ? 1 : 0) ||
  (a.team ?? '').localeCompare(b.team ?? '')

const ORDER: Record<Sort, (a: InventoryRow, b: InventoryRow) => number> = {
  expiry: (a, b) => byExpiry(a, b) || byName(a, b),
  name: (a, b) => byName(a, b),
  team: (a, b) => byTeam(a, b) || byExpiry(a, b) || byName(a, b),
}

/** The rows the query selects, in its order. */
export function select(rows: readonly InventoryRow[], query: InventoryQuery): InventoryRow[] {
  return rows.filter((row) => matches(row, query)).sort(ORDER[query.sort])
}

export interface TeamCount {
  team: string
  total: number
  /** Expiring within 30 days, not yet expired. */
  expiring: number
  expired: number
}

/** Per owning team (the unowned last): how many, how many expire within 30 days, how many have. */
export function countsByTeam(rows: readonly InventoryRow[]): TeamCount[] {
  const counts = new Map<string, TeamCount>()
  for (const row of [...rows].sort(byTeam)) {
    const team = teamOf(row)
    const count = counts.get(team) ?? { team, total: 0, expiring: 0, expired: 0 }
    count.total += 1
    const kind = expiryOf(row.days)
    if (kind === 'expiring') count.expiring += 1
    if (kind === 'expired') count.expired += 1
    counts.set(team, count)
  }
  return [...counts.values()]
}

export const CSV_HEADER = [
  'name',
  'id',
  'account_id',
  'team',
  'kind',
  'issuer',
  'expires_on',
  'days_left',
  'expiry',
] as const

/**
 * One CSV cell. Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage
 * return first: a team chooses its certificates' names) is prefixed with an apostrophe, as the audit
 * export does (OWASP "CSV injection"). Numbers the gateway computed (days left) are written as
 * numbers: `-3` is a value, not a formula.
 */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return ''
  if (typeof value === 'number') return String(value)
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** The selected rows as CSV (RFC 4180: CRLF line ends, a header line). */
export function inventoryCsv(rows: readonly InventoryRow[]): string {
  const lines = rows.map((row) =>
    [
      row.name,
      row.id,
      row.accountId,
      row.team ?? '',
      row.ca === undefined ? 'unknown' : row.ca ? 'CA' : 'leaf',
      row.issuer,
      row.expiresOn,
      row.days,
      expiryOf(row.days),
    ]
      .map(csvCell)
      .join(','),
  )
  return [CSV_HEADER.join(','), ...lines].map((line) => `${line}\r\n`).join('')
}
