/**
 * A team's expiry calendar (issue 23): an iCalendar feed (RFC 5545) of its certificates' expiry
 * dates, at a secret URL per team that a calendar app subscribes to (calendar apps send no
 * Authorization header). The URL's token is an HMAC of the team id under the audit signing key,
 * with a label of its own, so it needs no storage and cannot be confused with an entry signature;
 * rotating AUDIT_SIGNING_KEY changes every team's URL. The feed carries names, ids and dates,
 * never a PEM or a key.
 */
import { base64url } from '../lib/encoding'
import type { MtlsCertificate } from '../upstream/shapes'

const LABEL = 'mtls-gateway-calendar/v1\n'

/** The team's feed token (base64url, 43 characters). */
export async function calendarToken(signingKey: string, team: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(signingKey),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  return base64url(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(LABEL + team)))
}

export const calendarPath = (team: string, token: string) => `/calendar/${team}/${token}.ics`

/** Text as a property value: backslash, semicolon, comma and newlines escaped (RFC 5545 3.3.11). */
const text = (value: string) => value.replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n')

/** Lines longer than 75 octets are folded (RFC 5545 3.1); the values here are ASCII-safe enough. */
function fold(line: string): string {
  const out: string[] = []
  let rest = line
  while (rest.length > 75) {
    out.push(rest.slice(0, 75))
    rest = ` ${rest.slice(75)}`
  }
  out.push(rest)
  return out.join('\r\n')
}

const stamp = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '')

export interface CalendarCertificate {
  accountId: string
  certificate: MtlsCertificate
}

/** The feed: one all-day event on each certificate's expiry date, with an alarm a week before. */
export function calendarFeed(team: string, items: readonly CalendarCertificate[], nowMs: number) {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//mtls-gateway//expiry calendar//EN',
    'CALSCALE:GREGORIAN',
    `X-WR-CALNAME:${text(`mTLS certificates of ${team}`)}`,
  ]
  for (const { accountId, certificate } of items) {
    const expiresMs = Date.parse(certificate.expires_on ?? '')
    if (Number.isNaN(expiresMs)) continue
    const name = certificate.name ? `${certificate.name} (${certificate.id})` : certificate.id
    lines.push(
      'BEGIN:VEVENT',
      `UID:${certificate.id}@mtls-gateway`,
      `DTSTAMP:${stamp(nowMs)}`,
      `DTSTART;VALUE=DATE:${day(expiresMs)}`,
      `SUMMARY:${text(`mTLS certificate ${name} expires`)}`,
      `DESCRIPTION:${text(`${certificate.ca ? 'CA certificate' : 'Certificate'} ${certificate.id} of team ${team}, account ${accountId}, expires at ${certificate.expires_on}.`)}`,
      'BEGIN:VALARM',
      'ACTION:DISPLAY',
      `DESCRIPTION:${text(`mTLS certificate ${name} expires in a week`)}`,
      'TRIGGER:-P7D',
      'END:VALARM',
      'END:VEVENT',
    )
  }
  lines.push('END:VCALENDAR')
  return lines.map(fold).join('\r\n') + '\r\n'
}
