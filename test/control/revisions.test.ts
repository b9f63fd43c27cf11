/**
 * Policy revisions through the Worker and the coordinator (issue 20): the bootstrap of the managed
 * mode, a member added and a member revoked by a new revision and served within 1 s by an isolate
 * that held the old one, the compare-and-set of the current revision (10 concurrent applies on one
 * base apply once; a stale base is refused), failing closed without the coordinator, and the
 * pinned mode.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { coordinatedRevisions } from '../../src/coordinator/client'
import { canonicalDocument, newRevision, revisionIdOf } from '../../src/control/revision'
import { FRESH_MS } from '../../src/control/served-policy'
import { hashKey, mintKey } from '../../src/identity/keys'
import { unreachableCoordinator, emptyPolicyStore } from '../support/coordinator'
import { GATEWAY } from '../support/gateway'
import { KEYS } from '../support/identities'

const revisions = () => coordinatedRevisions(env.COORDINATOR)

beforeEach(async () => {
  await emptyPolicyStore()
})

/** One binding set reused across calls: one "isolate" holding its copy of the revision. */
const managed = () => ({ ...env, POLICY_MODE: 'managed' }) as Env

async function whoami(bindings: Env, key: string) {
  const ctx = createExecutionContext()
  const response = await worker.fetch(
    new Request(`${GATEWAY}/whoami`, { headers: { authorization: `Bearer ${key}` } }),
    bindings,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  const body = (await response.json()) as { errors: { code: number }[] }
  return { status: response.status, codes: body.errors.map((e) => e.code) }
}

const secretDocument = () => canonicalDocument(env.POLICY)!
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The current document with `change` made to it, applied on the current revision. */
async function applyChange(change: (policy: { members: Record<string, unknown>[] }) => void) {
  const { id: base, document } = await revisions().current(null)
  const policy = JSON.parse(document!) as { members: Record<string, unknown>[] }
  change(policy)
  const revision = await newRevision(canonicalDocument(JSON.stringify(policy))!, {
    parent: base,
    author: 'admin',
    reason: 'test',
    now: new Date(),
  })
  return { revision, answer: await revisions().apply(revision, base!, 'apply') }
}

describe('managed mode', () => {
  it('stores the POLICY secret as the first revision on the first request', async () => {
    expect((await revisions().current(null)).id).toBeNull()
    expect((await whoami(managed(), KEYS.alice)).status).toBe(200)
    const current = await revisions().current(null)
    expect(current.id).toBe(await revisionIdOf(secretDocument()))
    const [first] = await revisions().history(10, null)
    expect(first).toMatchObject({ kind: 'bootstrap', author: 'POLICY secret', previous_id: null })
  })

  it("serves a new member's key, and refuses a revoked member, within 1 s in an isolate that held the old revision", async () => {
    const isolate = managed()
    expect((await whoami(isolate, KEYS.alice)).status).toBe(200) // holds the bootstrap now
    const key = mintKey()
    const hash = await hashKey(key)
    const added = await applyChange((policy) => {
      policy.members.push({ id: 'erin', team: 'payments', roles: ['developer'], key_sha256: hash })
    })
    expect(added.answer).toMatchObject({ outcome: 'applied', current: added.revision.id })
    await sleep(FRESH_MS)
    expect(await whoami(isolate, key)).toEqual({ status: 200, codes: [] })

    const revoked = await applyChange((policy) => {
      policy.members.find((m) => m.id === 'erin')!.revoked = true
    })
    expect(revoked.answer.outcome).toBe('applied')
    await sleep(FRESH_MS)
    expect(await whoami(isolate, key)).toEqual({ status: 401, codes: [18005] })
  })

  it('applies one of 10 concurrent changes on one base, and refuses a stale base', async () => {
    await whoami(managed(), KEYS.alice) // bootstrap
    const { id: base, document } = await revisions().current(null)
    const variants = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const policy = JSON.parse(document!) as { teams: { description?: string }[] }
        policy.teams[0]!.description = `variant ${i}`
        return newRevision(canonicalDocument(JSON.stringify(policy))!, {
          parent: base,
          author: 'admin',
          reason: `variant ${i}`,
          now: new Date(),
        })
      }),
    )
    const answers = await Promise.all(variants.map((v) => revisions().apply(v, base!, 'apply')))
    expect(answers.filter((a) => a.outcome === 'applied')).toHaveLength(1)
    expect(answers.filter((a) => a.outcome === 'stale_base')).toHaveLength(9)
    const history = await revisions().history(10, null)
    expect(history.map((h) => h.kind)).toEqual(['apply', 'bootstrap'])
    expect(history[0]!.previous_id).toBe(base)
  })

  it('refuses every request with 503 / 18515 when the revision cannot be read', async () => {
    const isolate = { ...managed(), COORDINATOR: unreachableCoordinator } as Env
    expect(await whoami(isolate, KEYS.alice)).toEqual({ status: 503, codes: [18515] })
  })
})

describe('pinned mode', () => {
  it('serves the secret without storing or asking for a revision', async () => {
    const isolate = { ...env, POLICY_MODE: 'pinned', COORDINATOR: unreachableCoordinator } as Env
    // whoami needs no coordinator but the member rate's, which counts per isolate without it.
    expect((await whoami(isolate, KEYS.alice)).status).toBe(200)
    expect((await revisions().current(null)).id).toBeNull()
  })
})
