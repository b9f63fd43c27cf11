/** Who is calling, once authenticated. Everything downstream of authentication reads only this. */
export interface Principal {
  memberId: string
  teamId: string
  roles: readonly string[]
  /**
   * How the caller proved who they are: a gateway key, a Cloudflare Access token, or a console
   * session (started with a key; console/session.ts). The API never takes a session.
   */
  via: 'key' | 'access' | 'session'
}
