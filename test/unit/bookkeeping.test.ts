/**
 * The ledger's side of an upload and a delete (ownership/bookkeeping.ts): what waits for what. The
 * pending audit entry and the upload intent are written side by side, both before the forward; a
 * change not on record is never forwarded and leaves no intent; what only tidies up runs after
 * the answer.
 */
import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/lib/errors'
import type { Ledger } from '../../src/ownership/ledger'
import {
  releaseOnDelete,
  trackUpload,
  type UploadBookkeeping,
} from '../../src/ownership/bookkeeping'

const ACCOUNT = '9a7806061c88ada191ed06f989cc3dac'
const CERT = '2458ce5a-0c35-4c7f-82c7-8e9487d3ff60'

/** A ledger whose tidying-up (clearing an intent, releasing an owner) finishes only when told. */
function fakeLedger() {
  const log: string[] = []
  let finish!: () => void
  const tidied = new Promise<void>((resolve) => (finish = resolve))
  const tidy = (what: string) => async () => {
    await tidied
    log.push(what)
  }
  const ledger = {
    recordIntent: async () => {
      log.push('intent')
      return { admitted: true, used: 0 }
    },
    clearIntent: tidy('clear intent'),
    confirmUpload: async () => void log.push('confirm'),
    release: tidy('release'),
  } as unknown as Ledger
  return { ledger, log, finishTidying: () => finish() }
}

function bookkeeping(ledger: Ledger, overrides: Partial<UploadBookkeeping> = {}) {
  const later: Promise<unknown>[] = []
  const upload: UploadBookkeeping = {
    ledger,
    accountId: ACCOUNT,
    team: 'payments',
    member: 'alice',
    requestId: 'request-1',
    ca: false,
    expiresOn: '2030-01-01T00:00:00Z',
    bundleSha256: 'b'.repeat(64),
    fingerprintSha256: 'f'.repeat(64),
    caQuota: null,
    record: async () => {},
    afterAnswer: (work) => void later.push(work),
    ...overrides,
  }
  return { upload, settled: () => Promise.all(later), pendingLater: () => later.length }
}

const envelope = { success: true as const, errors: [], messages: [], result: { id: CERT } }

describe('trackUpload', () => {
  it('writes the intent while the audit entry is being written, not after it', async () => {
    const { ledger, log } = fakeLedger()
    let intentSeen!: () => void
    const intentWritten = new Promise<void>((resolve) => (intentSeen = resolve))
    const recordIntent = ledger.recordIntent.bind(ledger)
    ledger.recordIntent = async (...args) => {
      intentSeen()
      return recordIntent(...args)
    }
    // The audit write finishes only once the intent has been asked for: in sequence, it never would.
    const record = () =>
      Promise.race([
        intentWritten,
        new Promise<void>((_, reject) => setTimeout(() => reject(new Error('sequential')), 1000)),
      ])
    const { upload } = bookkeeping(ledger, { record })
    const forwarded: string[] = []
    await trackUpload(upload, async () => {
      forwarded.push(log.join(','))
      return envelope
    })
    expect(forwarded).toEqual(['intent'])
    expect(log).toEqual(['intent', 'confirm'])
  })

  it('forwards nothing when the change cannot be put on record, and clears the intent after', async () => {
    const { ledger, log, finishTidying } = fakeLedger()
    const unavailable = GatewayError.of('AUDIT_UNAVAILABLE')
    const { upload, settled } = bookkeeping(ledger, { record: () => Promise.reject(unavailable) })
    let forwarded = false
    await expect(
      trackUpload(upload, async () => {
        forwarded = true
        return envelope
      }),
    ).rejects.toBe(unavailable)
    expect(forwarded).toBe(false)
    expect(log).toEqual(['intent'])
    finishTidying()
    await settled()
    expect(log).toEqual(['intent', 'clear intent'])
  })

  it('refuses with the audit failure when the coordinator fails too, and clears nothing', async () => {
    const { ledger, log } = fakeLedger()
    ledger.recordIntent = () => Promise.reject(GatewayError.of('COORDINATOR_UNAVAILABLE'))
    const unavailable = GatewayError.of('AUDIT_UNAVAILABLE')
    const { upload, pendingLater } = bookkeeping(ledger, {
      record: () => Promise.reject(unavailable),
    })
    await expect(trackUpload(upload, async () => envelope)).rejects.toBe(unavailable)
    expect(pendingLater()).toBe(0)
    expect(log).toEqual([])
  })

  it('clears the intent of a refused upload after the answer, and keeps it after a 5xx', async () => {
    for (const [status, cleared] of [
      [400, true],
      [502, false],
    ] as const) {
      const { ledger, log, finishTidying } = fakeLedger()
      const { upload, settled } = bookkeeping(ledger)
      const refusal = new GatewayError(status, [{ code: 1000, message: 'no' }])
      // The refusal is answered while the clearing is still under way.
      await expect(trackUpload(upload, () => Promise.reject(refusal))).rejects.toBe(refusal)
      expect(log).toEqual(['intent'])
      finishTidying()
      await settled()
      expect(log).toEqual(cleared ? ['intent', 'clear intent'] : ['intent'])
    }
  })
})

describe('releaseOnDelete', () => {
  it('answers once the upstream has deleted, and drops the owner entry after the answer', async () => {
    const { ledger, log, finishTidying } = fakeLedger()
    const later: Promise<unknown>[] = []
    const answer = await releaseOnDelete(
      { ledger, accountId: ACCOUNT, certificateId: CERT, afterAnswer: (w) => void later.push(w) },
      async () => envelope,
    )
    expect(answer).toBe(envelope)
    expect(log).toEqual([])
    finishTidying()
    await Promise.all(later)
    expect(log).toEqual(['release'])
  })

  it('keeps the owner entry when the upstream refused the delete', async () => {
    const { ledger, log } = fakeLedger()
    const refusal = new GatewayError(404, [{ code: 1472, message: 'not found' }])
    await expect(
      releaseOnDelete(
        { ledger, accountId: ACCOUNT, certificateId: CERT, afterAnswer: () => {} },
        () => Promise.reject(refusal),
      ),
    ).rejects.toBe(refusal)
    expect(log).toEqual([])
  })
})
