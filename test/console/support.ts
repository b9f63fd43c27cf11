/**
 * A browser, as far as the console's tests need one: it keeps the console's cookies, reads the CSRF
 * token a page's form carries, and posts forms with the console's own Origin (or another one).
 * Every call goes through the Worker's fetch handler with no Authorization header.
 */
import { call, type CallOptions } from '../support/gateway'

export const ORIGIN = 'https://gateway.test'
export const CONSOLE = `${ORIGIN}/console`

export interface Cookie {
  name: string
  value: string
  attributes: Record<string, string | true>
}

export function parseSetCookie(header: string): Cookie {
  const [pair, ...rest] = header.split(';').map((part) => part.trim())
  const at = pair!.indexOf('=')
  const attributes: Record<string, string | true> = {}
  for (const attribute of rest) {
    const eq = attribute.indexOf('=')
    if (eq === -1) attributes[attribute.toLowerCase()] = true
    else attributes[attribute.slice(0, eq).toLowerCase()] = attribute.slice(eq + 1)
  }
  return { name: pair!.slice(0, at), value: decodeURIComponent(pair!.slice(at + 1)), attributes }
}

export const setCookies = (response: Response) =>
  response.headers.getSetCookie().map(parseSetCookie)

/** The hidden `csrf` field of the first form of a page. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html)
  if (!match) throw new Error(`no csrf field in ${html.slice(0, 300)}`)
  return match[1]!
}

export class Browser {
  readonly jar = new Map<string, string>()
  constructor(public options: { env?: Partial<Env>; url?: string } = {}) {}

  private absorb(response: Response) {
    for (const cookie of setCookies(response)) {
      const expired = cookie.attributes['max-age'] === '0' || cookie.value === ''
      if (expired) this.jar.delete(cookie.name)
      else this.jar.set(cookie.name, cookie.value)
    }
  }

  cookieHeader(): string {
    return [...this.jar].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; ')
  }

  async get(path: string, init: CallOptions = {}) {
    const headers = new Headers(init.headers)
    if (this.jar.size > 0) headers.set('cookie', this.cookieHeader())
    const response = await call(`${this.options.url ?? ORIGIN}${path}`, {
      key: null,
      ...(this.options.env ? { env: this.options.env } : {}),
      ...init,
      headers,
      redirect: 'manual',
    })
    this.absorb(response)
    return { response, status: response.status, html: await response.text() }
  }

  async post(
    path: string,
    fields: Record<string, string>,
    options: { origin?: string | null; headers?: Record<string, string> } = {},
  ) {
    const headers = new Headers({
      'content-type': 'application/x-www-form-urlencoded',
      ...options.headers,
    })
    const origin = options.origin === undefined ? (this.options.url ?? ORIGIN) : options.origin
    if (origin !== null) headers.set('origin', origin)
    return this.get(path, { method: 'POST', headers, body: new URLSearchParams(fields).toString() })
  }

  /** Opens the sign-in form and signs in with `key`; the session cookie is then in the jar. */
  async signIn(key: string, next?: string) {
    const form = await this.get(
      `/console/sign-in${next ? `?next=${encodeURIComponent(next)}` : ''}`,
    )
    return this.post('/console/sign-in', { csrf: csrfOf(form.html), key, next: next ?? '/console' })
  }

  /** The CSRF token the forms of `path` carry for this browser's session. */
  async csrf(path = '/console') {
    return csrfOf((await this.get(path)).html)
  }
}
