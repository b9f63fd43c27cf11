/**
 * What the upstream's successful answers lose on the way to the caller (upstream/relay.ts): a
 * `private_key` and a `"__proto__"` key JSON.parse made an own property, on a result or on each
 * item of a list; everything else is relayed as sent, and a list with nothing to remove is not
 * copied.
 */
import { describe, expect, it } from 'vitest'
import { relay } from '../../src/upstream/relay'

const answer = (result: unknown) => ({
  status: 200,
  envelope: { success: true as const, errors: [], messages: [], result },
})

describe('relay', () => {
  it('drops a private_key and an own "__proto__" (and whatever it holds) from a result', () => {
    const result = JSON.parse(
      '{"id":"a","name":"n","private_key":"SECRET","__proto__":{"private_key":"SECRET"}}',
    ) as Record<string, unknown>
    expect(Object.hasOwn(result, '__proto__')).toBe(true)
    const relayed = relay(answer(result)).result
    expect(JSON.stringify(relayed)).toBe('{"id":"a","name":"n"}')
    expect(Object.getPrototypeOf(relayed)).toBe(Object.prototype)
  })

  it('drops them from each item of a list, and relays a clean list as it is', () => {
    const dirty = JSON.parse('[{"id":"a"},{"id":"b","__proto__":{"private_key":"SECRET"}}]')
    expect(JSON.stringify(relay(answer(dirty)).result)).toBe('[{"id":"a"},{"id":"b"}]')
    const clean = [{ id: 'a', extra: { nested: true } }]
    expect(relay(answer(clean)).result).toBe(clean)
  })
})
