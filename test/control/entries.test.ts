/**
 * Every audit entry names the policy revision that decided it (issue 20): pinned and managed, the
 * revision changing between two requests, the review query's `policy_revision` filter and the
 * export, and the chain's link committing to the field (an entry re-signed with another revision
 * is reported altered).
 */
import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { writeEntry } from '../../src/audit/store'
import { coordinatedRevisions } from '../../src/coordinator/client'
import { canonicalDocument, newRevision, revisionIdOf } from '../../src/control/revision'
import { exportText, newEntries } from '../support/audit'
import { emulator } from '../support/emulator'
import { GATEWAY, call, callJson, certificatesUrl } from '../support/gateway'
import { ACCOUNT, AUDIT_SIGNING_KEY, KEYS } from '../support/identities'
import { emptyPolicyStore } from '../support/coordinator'

const revisions = () => coordinatedRevisions(env.COORDINATOR)

beforeEach(async () => {
  await emulator.reset()
  await emptyPolicyStore()
})

const secretRevision = () => revisionIdOf(canonicalDocument(env.POLICY)!)
const managed = { POLICY_MODE: 'managed' } as Partial<Env>

/** A new revision on the current one: the same document with another team description. */
async function applyVariant(label: string): Promise<string> {
  const { id: base, document } = await revisions().current(null)
  const policy = JSON.parse(document!) as { teams: { description?: string }[] }
  policy.teams[0]!.description = label
  const revision = await newRevision(canonicalDocument(JSON.stringify(policy))!, {
    parent: base,
    author: 'admin',
    reason: label,
    now: new Date(),
  })
  expect((await revisions().apply(revision, base!, 'apply')).outcome).toBe('applied')
  return revision.id
}

const listAs = (key: string, options = {}) => call(certificatesUrl(), { key, ...options })

describe('policy_revision in entries', () => {
  it('names the pinned secret revision', async () => {
    const entries = await newEntries(() => listAs(KEYS.alice))
    expect(entries.map((e) => e.policy_revision)).toEqual([await secretRevision()])
  })

  it('names the revision each request was decided under, and the query and export filter by it', async () => {
    // Each call gets fresh bindings here (test/support/gateway.ts), so each asks for the current one.
    const firstAll = await newEntries(() => listAs(KEYS.alice, { env: managed }))
    const bootstrap = await secretRevision()
    // The first request stored the bootstrap revision, which is an entry of its own (bootstrap.test.ts).
    expect(firstAll.map((e) => e.policy_revision)).toEqual([bootstrap, bootstrap])
    const first = firstAll.filter((e) => e.member === 'alice')
    expect(first).toHaveLength(1)
    const next = await applyVariant('after the change')
    const second = await newEntries(() => listAs(KEYS.alice, { env: managed }))
    expect(second.map((e) => e.policy_revision)).toEqual([next])

    const query = `${GATEWAY}/audit?member=alice&policy_revision=${next}`
    const { status, body } = await callJson<AuditEntry[]>(query, { key: KEYS.auditor })
    expect(status).toBe(200)
    expect(body.result!.map((e) => e.id)).toEqual([second[0]!.id])

    const exported = await exportText(
      await call(`${GATEWAY}/audit/export?member=alice&policy_revision=${bootstrap}`, {
        key: KEYS.auditor,
      }),
    )
    const lines = exported
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id?: string; policy_revision?: string })
    expect(lines.filter((l) => l.id === first[0]!.id)).toHaveLength(1)
    expect(lines.some((l) => l.id === second[0]!.id)).toBe(false)
  })

  it('refuses a policy_revision filter that is not a revision id', async () => {
    const { status } = await callJson(`${GATEWAY}/audit?policy_revision=latest`, {
      key: KEYS.auditor,
    })
    expect(status).toBe(400)
  })

  it("is covered by the chain's link: an entry re-signed with another revision is altered", async () => {
    const [entry] = await newEntries(() => listAs(KEYS.alice))
    await writeEntry(
      env.AUDIT,
      { ...entry!, policy_revision: 'f'.repeat(64) },
      { signingKey: AUDIT_SIGNING_KEY, retentionDays: 1 },
    )
    const { body } = await callJson<{ problems: { kind: string; seq: number }[] }>(
      `${GATEWAY}/audit/verify/chain?chain=${ACCOUNT}&from_seq=${entry!.seq}`,
      { key: KEYS.auditor },
    )
    expect(body.result!.problems).toEqual([
      expect.objectContaining({ kind: 'altered', seq: entry!.seq }),
    ])
  })
})
