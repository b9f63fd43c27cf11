/**
 * The benchmark's baseline: the least a gateway can do. It swaps the caller's credential for the
 * stored token and forwards the request's method, path, query and body to the upstream; no
 * checks, no audit.
 *
 * It sends the upstream the headers the gateway sends (src/upstream/client.ts: the token,
 * `accept: application/json`, its user agent, and `content-type` with a body), not the caller's:
 * forwarding the caller's `Accept-Encoding`, which the gateway never does, had the emulator
 * compress the baseline's answers only, and the baseline lost up to 40 % on large lists to
 * compression the gateway never paid for (issue 21).
 */
interface Env {
  CLOUDFLARE_API_TOKEN: string
  UPSTREAM_BASE_URL: string
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const { pathname, search } = new URL(request.url)
    const headers = new Headers({
      authorization: `Bearer ${env.CLOUDFLARE_API_TOKEN}`,
      accept: 'application/json',
      'user-agent': 'mtls-gateway',
    })
    const contentType = request.headers.get('content-type')
    if (request.body !== null && contentType !== null) headers.set('content-type', contentType)
    return fetch(new URL(pathname + search, env.UPSTREAM_BASE_URL), {
      method: request.method,
      headers,
      body: request.body,
    })
  },
}
