/**
 * The bootstrap is an audit entry (issue 20): in managed mode, the first revision stored from the
 * POLICY secret leaves exactly one chained entry (before `none`, after its id, by the gateway's
 * system principal), however many isolates race to store it; later requests and the pinned mode
 * leave none; the entry verifies on the `gateway` chain, and holds no key.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import type { AuditEntry } from '../../src/audit/entry'
import { canonicalDocument, revisionIdOf } from '../../src/control/revision'
import { newEntries, SECRETS } from '../support/audit'
import { GATEWAY, callJson } from '../support/gateway'
import { KEYS } from '../support/identities'
import { emptyPolicyStore } from '../support/coordinator'

beforeEach(async () => {
  await emptyPolicyStore()
})

/** A request in an isolate of its own: its own bindings object, so its own copy of the policy. */
async function whoamiInNewIsolate(mode: 'managed' | 'pinned') {
  const ctx = createExecutionContext()
  const response = await worker.fetch(
    new Request(`${GATEWAY}/whoami`, { headers: { authorization: `Bearer ${KEYS.alice}` } }),
    { ...env, POLICY_MODE: mode } as Env,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return response.status
}

const bootstraps = (entries: AuditEntry[]) =>
  entries.filter((entry) => entry.policy_change?.kind === 'bootstrap')

describe('the bootstrap', () => {
  it('leaves exactly one chained entry when ten isolates race to store it', async () => {
    const entries = await newEntries(async () => {
      const statuses = await Promise.all(
        Array.from({ length: 10 }, () => whoamiInNewIsolate('managed')),
      )
      expect(statuses).toEqual(Array(10).fill(200))
    })
    const [entry, ...more] = bootstraps(entries)
    expect(more).toEqual([])
    const id = await revisionIdOf(canonicalDocument(env.POLICY)!)
    expect(entry).toMatchObject({
      member: '_gateway',
      team: '_gateway',
      via: 'system',
      action: 'policy',
      policy_revision: id,
      outcome: { class: 'allowed' },
      policy_change: { verdict: 'bootstrap', before: 'none', after: id },
    })
    expect(entry!.seq).toEqual(expect.any(Number))
    const text = JSON.stringify(entry)
    for (const secret of SECRETS) expect(text).not.toContain(secret)

    // On the `gateway` chain, and its link verifies.
    const { status, body } = await callJson<{ problems: unknown[] }>(
      `${GATEWAY}/audit/verify/chain?chain=gateway&from_seq=${entry!.seq}`,
      { key: KEYS.auditor },
    )
    expect(status).toBe(200)
    expect(body.result!.problems).toEqual([])

    // Once stored, no other request records it again.
    const later = await newEntries(() => whoamiInNewIsolate('managed'))
    expect(bootstraps(later)).toEqual([])
  })

  it('is not recorded in the pinned mode, where nothing is stored', async () => {
    const entries = await newEntries(() => whoamiInNewIsolate('pinned'))
    expect(bootstraps(entries)).toEqual([])
  })
})
