/**
 * KV bindings with a twist, passed to the gateway as `call(url, { env: { AUDIT: ... } })`: one that
 * fails some of what is asked of it, as KV does when it is unavailable, and one that counts.
 */
import { env } from 'cloudflare:test'
import { INJECTED } from '../kit/expected-logs'

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

const unavailable = (method: string) =>
  Promise.reject(new Error(`KV ${method} failed: 503 Service Unavailable (${INJECTED})`))

export interface Failures {
  /** Which keys' put() fails. */
  puts?: (key: string) => boolean
  deletes?: boolean
  /** get() and list() */
  reads?: boolean
}

/** `kv`, except that what `failures` names fails; everything else reaches the real namespace. */
export function failing(kv: KVNamespace, failures: Failures): KVNamespace {
  return wrap(kv, (name, original) => {
    if (name === 'put' && failures.puts)
      return (...args: unknown[]) =>
        failures.puts!(args[0] as string) ? unavailable('PUT') : original(...args)
    if (name === 'delete' && failures.deletes) return () => unavailable('DELETE')
    if ((name === 'get' || name === 'list') && failures.reads) return () => unavailable('GET')
    return undefined
  })
}

/** The suite's AUDIT namespace, except that every write fails. */
export function failingWrites(kv: KVNamespace = env.AUDIT): KVNamespace {
  return failing(kv, { puts: () => true, deletes: true })
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
