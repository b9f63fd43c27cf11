/**
 * The routes under load, as requests for either target. Both targets get the same request: the
 * bare Worker swaps whatever key it is sent for the token, the gateway checks it. Reads repeat one
 * request; writes consume fixtures made by `prepare` before the run (distinct certificates for
 * uploads; for deletes, certificates that exist, and, through the gateway, that the deleting
 * lead's team owns, so they are uploaded through it by a developer of that team).
 */
import type { LoadRequest } from './load'
import {
  ACCOUNTS,
  KEYS,
  LIST_SIZES,
  inBatches,
  seedForDelete,
  uploadBodies,
  type ListSize,
} from './fixtures'

export type Target = 'gateway' | 'bare'

export interface Origins {
  gateway: string
  bare: string
  emulator: string
}

export interface Route {
  name: string
  /** Reads run for a time; writes for a number of requests (each consumes a fixture). */
  kind: 'read' | 'write'
  /**
   * A read that runs for a number of requests instead: one so slow that a timed run would end
   * with most requests still in flight and measure only the few that came back.
   */
  requests?: (connections: number) => number
  /** Makes what `count` requests need, and returns the request maker. */
  prepare(target: Target, count: number): Promise<() => LoadRequest>
}

const collection = (account: string) => `/client/v4/accounts/${account}/mtls_certificates`
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

function repeat(request: LoadRequest): Route['prepare'] {
  return async () => () => request
}

/**
 * `count` certificates uploaded through the gateway as alice; their ids. On this loaded machine
 * `wrangler dev` sometimes drops a connection (a 502 from the gateway): such an upload is not
 * retried (it may have taken effect upstream), it is replaced by a fresh certificate.
 */
export async function uploadThroughGateway(gateway: string, account: string, count: number) {
  const ids: string[] = []
  for (let attempt = 1; ids.length < count; attempt++) {
    if (attempt > 3) throw new Error(`fixture uploads: only ${ids.length} of ${count} succeeded`)
    const bodies = await uploadBodies(count - ids.length)
    const answers = await inBatches(bodies, 4, async (body) => {
      const response = await fetch(`${gateway}${collection(account)}`, {
        method: 'POST',
        headers: { ...bearer(KEYS.alice), 'content-type': 'application/json' },
        body,
      })
      const text = await response.text()
      return response.status === 200
        ? (JSON.parse(text) as { result: { id: string } }).result.id
        : undefined
    })
    ids.push(...answers.filter((id): id is string => id !== undefined))
  }
  return ids
}

/** What get and associations read, both with associations. */
export interface ReadTargets {
  /** Uploaded through the gateway by payments, read by alice: the common case. */
  owned: string
  /**
   * A certificate of the 10-certificate account that no team owns, read by the admin: the gateway
   * learns its facts from the upstream (a GET first), so associations costs two upstream calls.
   */
  unowned: string
}

export function benchRoutes(origins: Origins, reads: ReadTargets): Route[] {
  const lists = LIST_SIZES.map((size: ListSize): Route => ({
    name: `list (${size.toLocaleString('en')} certificates)`,
    kind: 'read',
    prepare: repeat({
      method: 'GET',
      path: collection(ACCOUNTS.list[size]),
      headers: bearer(KEYS.admin),
    }),
  }))
  const owned = `${collection(ACCOUNTS.reads)}/${reads.owned}`
  const unowned = `${collection(ACCOUNTS.list[10])}/${reads.unowned}`
  const read = (name: string, path: string, key: string): Route => ({
    name,
    kind: 'read',
    prepare: repeat({ method: 'GET', path, headers: bearer(key) }),
  })
  return [
    ...lists,
    read('get', owned, KEYS.alice),
    read('associations', `${owned}/associations`, KEYS.alice),
    read('get (unowned, admin)', unowned, KEYS.admin),
    read('associations (unowned, admin)', `${unowned}/associations`, KEYS.admin),
    {
      name: 'upload (with key)',
      kind: 'write',
      async prepare(_target, count) {
        const bodies = await uploadBodies(count)
        let next = 0
        return () => ({
          method: 'POST',
          path: collection(ACCOUNTS.uploads),
          headers: { ...bearer(KEYS.alice), 'content-type': 'application/json' },
          body: bodies[next++ % bodies.length],
        })
      },
    },
    {
      name: 'delete',
      kind: 'write',
      async prepare(target, count) {
        const ids =
          target === 'gateway'
            ? await uploadThroughGateway(origins.gateway, ACCOUNTS.deletes, count)
            : await seedForDelete(origins.emulator, ACCOUNTS.deletes, count)
        let next = 0
        return () => ({
          method: 'DELETE',
          path: `${collection(ACCOUNTS.deletes)}/${ids[next++ % ids.length]}`,
          headers: bearer(KEYS.bob),
        })
      },
    },
  ]
}
