/**
 * Another team's certificate ids cannot be probed: get, associations and delete of a certificate
 * the caller may not see answer byte for byte as a random id does (apart from the request id).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { emulator, seedUnowned } from '../support/emulator'
import { call, certificateUrl, uploadedId } from '../support/gateway'
import { KEYS } from '../support/identities'

beforeEach(async () => {
  await emulator.reset()
})

async function snapshot(response: Response) {
  const headers = [...response.headers].filter(([name]) => name !== 'x-request-id')
  return { status: response.status, headers, body: await response.text() }
}

async function probe(id: string) {
  return {
    get: await snapshot(await call(certificateUrl(id), { key: KEYS.alice })),
    associations: await snapshot(
      await call(`${certificateUrl(id)}/associations`, { key: KEYS.alice }),
    ),
    delete: await snapshot(await call(certificateUrl(id), { method: 'DELETE', key: KEYS.alice })),
  }
}

describe('probing for other teams certificates', () => {
  it("answers another team's certificate exactly as a random id", async () => {
    const theirs = await uploadedId({}, { key: KEYS.carol })

    const forTheirs = await probe(theirs)
    const forRandom = await probe(crypto.randomUUID())
    expect(forTheirs).toEqual(forRandom)
    expect(forTheirs.get.status).toBe(404)
    expect(JSON.parse(forTheirs.get.body)).toEqual({
      success: false,
      errors: [{ code: 1472, message: 'Certificate not found' }],
      messages: [],
      result: null,
    })
  })

  it('answers an unowned certificate exactly as a random id', async () => {
    expect(await probe(await seedUnowned())).toEqual(await probe(crypto.randomUUID()))
  })

  it('answers an id in an account outside the team exactly as a random id', async () => {
    const foreign = 'fedcba9876543210fedcba9876543210'
    const id = crypto.randomUUID()
    const inForeign = await snapshot(await call(certificateUrl(id, foreign), { key: KEYS.alice }))
    const inOwn = await snapshot(
      await call(certificateUrl(crypto.randomUUID()), { key: KEYS.alice }),
    )
    expect(inForeign).toEqual(inOwn)
  })
})
