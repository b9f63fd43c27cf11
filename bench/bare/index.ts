/**
 * The benchmark's baseline: the least a gateway can do. It swaps the caller's credential for the
 * stored token and forwards the request, as it came, to the upstream; no checks, no audit.
 */
interface Env {
  CLOUDFLARE_API_TOKEN: string
  UPSTREAM_BASE_URL: string
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const { pathname, search } = new URL(request.url)
    const headers = new Headers(request.headers)
    headers.set('authorization', `Bearer ${env.CLOUDFLARE_API_TOKEN}`)
    return fetch(new URL(pathname + search, env.UPSTREAM_BASE_URL), {
      method: request.method,
      headers,
      body: request.body,
    })
  },
}
