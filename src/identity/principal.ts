/** Who is calling, once authenticated. Everything downstream of authentication reads only this. */
export interface Principal {
  memberId: string
  teamId: string
  roles: readonly string[]
  /**
   * How the caller proved who they are: a gateway key, a Cloudflare Access token, or a console
   * session (started with a key; console/session.ts). The API never takes a session. `system`
   * is the gateway itself, in a job it starts (kernel/scope-for.ts `SYSTEM_PRINCIPAL`).
   */
  via: 'key' | 'access' | 'session' | 'system'
}

/** Who called: a request's principal, as authentication found it (never the gateway itself). */
export type Caller = Principal & {
  via: Exclude<Principal['via'], 'system'>
  /**
   * The public id of the member keys' table's key that authenticated the caller (identity/
   * table-keys.ts); absent for everyone else. The console's sign-in binds a session to it.
   */
  keyId?: string
}
