/**
 * The ledger's side of an upload and a delete (ownership/bookkeeping.ts): what waits for what. The
 * pending audit entry and the upload intent are written side by side, both before the forward; a
 * change not on record is never forwarded and leaves no intent; the tidying up (an intent
 * cleared, an owner released) is done before the answer, because a lost one holds a quota slot.
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

function fakeLedger() {
  const log: string[] = []
  const ledger = {
    recordIntent: async () => {
      log.push('intent')
      return { admitted: true, used: 0 }
    },
    clearIntent: async () => void log.push('clear intent'),
    confirmUpload: async () => void log.push('confirm'),
    release: async () => void log.push('release'),
  } as unknown as Ledger
  return { ledger, log }
}

function bookkeeping(
  ledger: Ledger,
  overrides: Partial<UploadBookkeeping> = {},
): UploadBookkeeping {
  return {
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
    ...overrides,
  }
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
    const forwarded: string[] = []
    await trackUpload(bookkeeping(ledger, { record }), async () => {
      forwarded.push(log.join(','))
      return envelope
    })
    expect(forwarded).toEqual(['intent'])
    expect(log).toEqual(['intent', 'confirm'])
  })

  it('forwards nothing when the change cannot be put on record, and clears the intent first', async () => {
    const { ledger, log } = fakeLedger()
    const unavailable = GatewayError.of('AUDIT_UNAVAILABLE')
    const upload = bookkeeping(ledger, { record: () => Promise.reject(unavailable) })
    let forwarded = false
    await expect(
      trackUpload(upload, async () => {
        forwarded = true
        return envelope
      }),
    ).rejects.toBe(unavailable)
    expect(forwarded).toBe(false)
    expect(log).toEqual(['intent', 'clear intent'])
  })

  it('refuses with the audit failure when the coordinator fails too, and clears nothing', async () => {
    const { ledger, log } = fakeLedger()
    ledger.recordIntent = () => Promise.reject(GatewayError.of('COORDINATOR_UNAVAILABLE'))
    const unavailable = GatewayError.of('AUDIT_UNAVAILABLE')
    const upload = bookkeeping(ledger, { record: () => Promise.reject(unavailable) })
    await expect(trackUpload(upload, async () => envelope)).rejects.toBe(unavailable)
    expect(log).toEqual([])
  })

  it('clears the intent of a refused upload before answering, and keeps it after a 5xx', async () => {
    for (const [status, cleared] of [
      [400, true],
      [502, false],
    ] as const) {
      const { ledger, log } = fakeLedger()
      const refusal = new GatewayError(status, [{ code: 1000, message: 'no' }])
      await expect(trackUpload(bookkeeping(ledger), () => Promise.reject(refusal))).rejects.toBe(
        refusal,
      )
      expect(log).toEqual(cleared ? ['intent', 'clear intent'] : ['intent'])
    }
  })
})

describe('releaseOnDelete', () => {
  it('drops the owner entry once the upstream has deleted, before answering', async () => {
    const { ledger, log } = fakeLedger()
    const answer = await releaseOnDelete(ledger, ACCOUNT, CERT, async () => envelope)
    expect(answer).toBe(envelope)
    expect(log).toEqual(['release'])
  })

  it('answers the delete even when the release fails: the delete happened', async () => {
    const { ledger } = fakeLedger()
    ledger.release = () => Promise.reject(new Error('coordinator gone'))
    expect(await releaseOnDelete(ledger, ACCOUNT, CERT, async () => envelope)).toBe(envelope)
  })

  it('keeps the owner entry when the upstream refused the delete', async () => {
    const { ledger, log } = fakeLedger()
    const refusal = new GatewayError(404, [{ code: 1472, message: 'not found' }])
    await expect(
      releaseOnDelete(ledger, ACCOUNT, CERT, () => Promise.reject(refusal)),
    ).rejects.toBe(refusal)
    expect(log).toEqual([])
  })
})
