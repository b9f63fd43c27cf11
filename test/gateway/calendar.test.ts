/**
 * Issue 23: a team's iCalendar feed at its secret URL, read without credentials (calendar apps
 * send none), parsed by an independent parser (ical.js); another team's certificates stay out of
 * it, and a wrong token or a team's token on another team's path is the 404 of an unknown path.
 */
import ICAL from 'ical.js'
import { beforeEach, describe, expect, it } from 'vitest'
import { makeCertificate } from '../kit/certificates'
import { emulator } from '../support/emulator'
import { call, callJson, GATEWAY, uploadedId } from '../support/gateway'
import { KEYS } from '../support/identities'

const DAY = 86_400_000

beforeEach(() => emulator.reset())

async function uploadExpiring(key: string, days: number, name: string) {
  const notAfter = new Date(Date.now() + days * DAY)
  const made = await makeCertificate({ ca: false, notAfter })
  return { id: await uploadedId({ certificates: made.pem, name }, { key }), notAfter }
}

const feedPath = async (key: string) =>
  (await callJson<{ team: string; path: string }>(`${GATEWAY}/expiring/calendar`, { key })).body
    .result!

describe('the team calendar feed', () => {
  it("parses, and holds the team's certificates only, each on its expiry date", async () => {
    const mine = await uploadExpiring(KEYS.alice, 10, 'payments, edge; "a\\b"')
    const theirs = await uploadExpiring(KEYS.carol, 20, 'identity-ca')
    const { team, path } = await feedPath(KEYS.alice)
    expect(team).toBe('payments')

    const res = await call(`https://gateway.test${path}`, { key: null })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/calendar; charset=utf-8')
    const text = await res.text()
    const calendar = new ICAL.Component(ICAL.parse(text))
    const events = calendar.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v))
    const event = events.find((e) => e.uid === `${mine.id}@mtls-gateway`)
    expect(event).toBeDefined()
    expect(event!.summary).toBe(`mTLS certificate payments, edge; "a\\b" (${mine.id}) expires`)
    expect(event!.startDate.toString()).toBe(mine.notAfter.toISOString().slice(0, 10))
    expect(event!.startDate.isDate).toBe(true)
    expect(events.some((e) => e.uid.startsWith(theirs.id))).toBe(false)
    expect(text).not.toContain('BEGIN CERTIFICATE')
  })

  it("answers 404 to a wrong token, and to a team's token on another team's path", async () => {
    const { path } = await feedPath(KEYS.alice)
    const wrong = path.replace(/\/[^/]{43}\.ics$/, `/${'A'.repeat(43)}.ics`)
    const elsewhere = path.replace('/payments/', '/identity/')
    for (const p of [wrong, elsewhere]) {
      const res = await callJson(`https://gateway.test${p}`, { key: null })
      expect([res.status, res.body.errors[0]?.code]).toEqual([404, 7003])
    }
  })
})
