/**
 * KV bindings with a twist, passed to the gateway as `call(url, { env: { AUDIT: ... } })`: one that
 * refuses every write, and one that counts what is asked of it.
 */
import { env } from 'cloudflare:test'

type AnyFunction = (...args: unknown[]) => unknown

function wrap(
  kv: KVNamespace,
  replace: (name: string, original: AnyFunction) => AnyFunction | undefined,
) {
  return new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown
      if (typeof value !== 'function') return value
      const bound = (value as AnyFunction).bind(target)
      return replace(String(property), bound) ?? bound
    },
  })
}

/** The suite's AUDIT namespace, except that every put() fails as KV does when it is unavailable. */
export function failingWrites(kv: KVNamespace = env.AUDIT): KVNamespace {
  return wrap(kv, (name) =>
    name === 'put' || name === 'delete'
      ? () => Promise.reject(new Error('KV PUT failed: 503 Service Unavailable'))
      : undefined,
  )
}

export interface Counted {
  kv: KVNamespace
  calls: Record<string, number>
}

/** The suite's AUDIT namespace, counting calls per method (list, get, getWithMetadata, put). */
export function counting(kv: KVNamespace = env.AUDIT): Counted {
  const calls: Record<string, number> = {}
  return {
    calls,
    kv: wrap(kv, (name, original) => (...args: unknown[]) => {
      calls[name] = (calls[name] ?? 0) + 1
      return original(...args)
    }),
  }
}
