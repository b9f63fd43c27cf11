/**
 * What the upstream's words lose on the way to the caller (upstream/scrub.ts): the gateway's own
 * token, an echoed `Bearer` credential, gateway keys and long mixed-case tokens; ids, URLs and
 * ordinary words are kept, and a result is never touched.
 */
import { describe, expect, it } from 'vitest'
import { REDACTED, scrubEnvelope, scrubText } from '../../src/upstream/scrub'

const TOKEN = 'test-upstream-token-0f3c9a1e7b2d4c68'

describe('scrubText', () => {
  it.each([
    ['the token itself', `bad header: ${TOKEN}!`, `bad header: ${REDACTED}!`],
    ['the token inside a word', `x${TOKEN}y`, `x${REDACTED}y`],
    [
      'an echoed Authorization header',
      `Authorization: Bearer ${TOKEN}`,
      `Authorization: Bearer ${REDACTED}`,
    ],
    ['another bearer credential', 'got "bearer abc.def-ghi"', `got "bearer ${REDACTED}"`],
    ['a gateway key', 'key mtlsgw_TEST_x_qqqq rejected', `key ${REDACTED} rejected`],
    [
      'a Cloudflare-shaped token',
      'token Yq3fZt0Lm9Ab4Cd8Ef2Gh6Ij1Kl5Mn7Op is invalid',
      `token ${REDACTED} is invalid`,
    ],
  ])('scrubs %s', (_, text, scrubbed) => {
    expect(scrubText(text, TOKEN)).toBe(scrubbed)
  })

  it.each([
    ['a certificate id', 'Certificate 2458ce5a-0c35-4c7f-82c7-8e9487d3ff60 is in use'],
    ['an account id', 'Account 0123456789abcdef0123456789abcdef not found'],
    ['a documentation URL', 'https://developers.cloudflare.com/api/resources/mtls_certificates/'],
    ['an ordinary message', 'Basic constraints: the certificate is not a CA (1413)'],
    ['an upper-case code name', 'MTLS_CERTIFICATE_QUOTA_EXCEEDED_FOR_ACCOUNT'],
  ])('keeps %s', (_, text) => {
    expect(scrubText(text, TOKEN)).toBe(text)
  })

  it('is linear on a long run of token characters', () => {
    const long = 'aB3'.repeat(100_000)
    expect(scrubText(`x ${long} y`, TOKEN)).toBe(`x ${REDACTED} y`)
  })
})

describe('scrubEnvelope', () => {
  it('scrubs errors, messages and extra fields, and leaves the result alone', () => {
    const result = {
      id: 'a',
      certificates: `-----BEGIN CERTIFICATE-----\nMIIBaB3cD4eF5gH6iJ7kL8mN9\n`,
    }
    const envelope = {
      success: false,
      errors: [{ code: 10000, message: `Authentication error: Bearer ${TOKEN}` }],
      messages: [{ code: 1, message: TOKEN }, TOKEN],
      debug: { echoed: { authorization: `Bearer ${TOKEN}` } },
      result,
    }
    const scrubbed = scrubEnvelope(envelope, TOKEN)
    expect(JSON.stringify(scrubbed)).not.toContain(TOKEN)
    expect(scrubbed.errors[0]!.message).toBe(`Authentication error: Bearer ${REDACTED}`)
    expect(scrubbed.messages).toEqual([{ code: 1, message: REDACTED }, REDACTED])
    expect(scrubbed.result).toBe(result)
  })
})
