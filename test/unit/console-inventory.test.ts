/**
 * The certificate list's rules as plain data (src/console/inventory.ts): expiry first with the
 * expired on top and the unknown last, the query read leniently from a URL, and CSV cells a
 * spreadsheet would run made inert.
 */
import { describe, expect, it } from 'vitest'
import {
  countsByTeam,
  csvCell,
  inventoryQuery,
  querySearch,
  select,
  type InventoryRow,
} from '../../src/console/inventory'

const row = (id: string, fields: Partial<InventoryRow>): InventoryRow => ({
  accountId: 'a',
  id,
  name: id,
  team: 'payments',
  ca: false,
  issuer: undefined,
  expiresOn: undefined,
  days: undefined,
  ...fields,
})

describe('the certificate list', () => {
  const rows = [
    row('unknown', { days: undefined }),
    row('later', { days: 90, team: 'identity' }),
    row('expired', { days: -3, team: undefined }),
    row('soon', { days: 4 }),
  ]

  it('puts the expired first and the unknown expiry last', () => {
    const order = select(rows, inventoryQuery({})).map((r) => r.id)
    expect(order).toEqual(['expired', 'soon', 'later', 'unknown'])
  })

  it('sorts by team with the unowned last, and reads an unknown sort as expiry', () => {
    expect(select(rows, inventoryQuery({ sort: 'team' })).map((r) => r.id)).toEqual([
      'later',
      'soon',
      'unknown',
      'expired',
    ])
    expect(inventoryQuery({ sort: 'bogus', team: ' ', q: '  x ' })).toEqual({
      sort: 'expiry',
      team: undefined,
      q: 'x',
    })
  })

  it('counts per team, and writes only the non-default parts of a query in links', () => {
    expect(countsByTeam(rows)).toEqual([
      { team: 'identity', total: 1, expiring: 0, expired: 0 },
      { team: 'payments', total: 2, expiring: 1, expired: 0 },
      { team: '_unowned', total: 1, expiring: 0, expired: 1 },
    ])
    expect(querySearch(inventoryQuery({}))).toBe('')
    expect(querySearch(inventoryQuery({ q: 'a b' }), { sort: 'name' })).toBe('?q=a+b&sort=name')
  })

  it('makes a CSV cell that starts like a formula inert, and quotes what needs it', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) {
      expect(csvCell(`${start}1+1`).replace(/^"/, '')).toMatch(/^'/)
    }
    expect(csvCell('a "b", c')).toBe('"a ""b"", c"')
    expect(csvCell(-3)).toBe('-3')
    expect(csvCell(undefined)).toBe('')
  })
})
