/** Who is calling, once authenticated. Everything downstream of authentication reads only this. */
export interface Principal {
  memberId: string
  teamId: string
  roles: readonly string[]
  /** How the caller proved who they are: a gateway key, or a Cloudflare Access token. */
  via: 'key' | 'access'
}
