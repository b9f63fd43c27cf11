/**
 * The official `cloudflare` SDK (pinned in package.json), unchanged but for its base URL and
 * token, against the gateway and straight against the emulator: the same calls, the shapes the
 * SDK's types promise, the error class and status of each refusal, and what its default retries
 * do while the upstream fails.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { INVALID_PEM, makeCertificate, type Made } from './support/certificates'
import {
  ACCOUNT,
  DEMO_KEYS,
  EMULATOR_TOKEN,
  MICROS_TIMESTAMP,
  SECONDS_TIMESTAMP,
  UUID,
  emulator,
  emulatorControl,
  gateway,
  stored,
  upload,
  upstreamCalls,
  type Target,
  resetAccount,
} from './support/context'
import { expectNamesApproval } from './support/approvals'
import { killClients } from './support/processes'
import { raised, resolved, sdk, type SdkStep } from './support/sdk'

const account_id = ACCOUNT
/** Well-formed (so not 18002, malformed) and nobody's. */
const UNKNOWN_KEY = `mtlsgw_${'A'.repeat(43)}`

let ca: Made
let ecLeaf: Made
let rsaLeaf: Made
let p384Leaf: Made
let other: Made

beforeAll(async () => {
  ca = await makeCertificate({ ca: true })
  ecLeaf = await makeCertificate({ issuer: ca })
  rsaLeaf = await makeCertificate({ issuer: ca, kind: 'rsa' })
  p384Leaf = await makeCertificate({ issuer: ca, kind: 'p384' })
  other = await makeCertificate({ issuer: ca })
})
beforeEach(async () => {
  await resetAccount()
})
afterAll(() => killClients())

/** What create answers: every field the SDK's MTLSCertificateCreateResponse names, computed right. */
function expectCreated(value: unknown, made: Made, body: { ca: boolean; name?: string }) {
  expect(value).toEqual({
    id: expect.stringMatching(UUID),
    ca: body.ca,
    certificates: made.pem.trimEnd(),
    expires_on: expect.stringMatching(SECONDS_TIMESTAMP),
    issuer: made.issuer,
    ...(body.name === undefined ? {} : { name: body.name }),
    serial_number: BigInt(`0x${made.cert.serialNumber}`).toString(10),
    signature: made.signature,
    type: 'custom',
    updated_at: expect.stringMatching(MICROS_TIMESTAMP),
    uploaded_on: expect.stringMatching(MICROS_TIMESTAMP),
  })
}

// Who does the ordinary things on each side: a lead may upload, read and delete their team's leaves.
const targets: [string, () => Target, () => string][] = [
  ['gateway', gateway, () => DEMO_KEYS.bob],
  ['emulator', emulator, () => EMULATOR_TOKEN],
]

describe.each(targets)('the SDK against the %s', (_name, target, token) => {
  test('create (with and without name and private_key), get, list with and without type, associations, delete', async () => {
    const t = token()
    const steps: SdkStep[] = [
      { token: t, call: 'create', args: { account_id, ca: false, certificates: ecLeaf.pem } },
      {
        token: t,
        call: 'create',
        args: {
          account_id,
          ca: false,
          certificates: rsaLeaf.pem,
          name: 'e2e-rsa',
          private_key: rsaLeaf.pkcs8,
        },
      },
      {
        token: t,
        call: 'create',
        args: { account_id, ca: true, certificates: ca.pem, name: 'e2e-ca' },
      },
      { token: t, call: 'get', idFrom: 1, args: { account_id } },
      { token: t, call: 'list', args: { account_id } },
      { token: t, call: 'list', args: { account_id, type: ['custom'] } },
      { token: t, call: 'list', args: { account_id, type: ['gateway_managed', 'access_managed'] } },
      { token: t, call: 'associations', idFrom: 1, args: { account_id } },
      { token: t, call: 'delete', idFrom: 0, args: { account_id } },
      { token: t, call: 'get', idFrom: 0, args: { account_id } },
      { token: t, call: 'list', args: { account_id } },
    ]
    const { outcomes, check } = await sdk(target(), steps)
    check(() => {
      const [leaf, named, root, got, all, custom, managed, associations, deleted, gone, after] =
        outcomes
      expectCreated(resolved(leaf), ecLeaf, { ca: false })
      expectCreated(resolved(named), rsaLeaf, { ca: false, name: 'e2e-rsa' })
      expectCreated(resolved(root), ca, { ca: true, name: 'e2e-ca' })
      expect(JSON.stringify(outcomes)).not.toContain('PRIVATE KEY')

      // get and list: the MTLSCertificate shape, which has no updated_at.
      const { updated_at: _u, ...namedAsListed } = resolved(named)
      expect(resolved(got)).toEqual(namedAsListed)
      const ids = (value: { id: string }[]) => value.map((c) => c.id).sort()
      const uploaded = [leaf, named, root].map((o) => resolved(o).id).sort()
      expect(ids(resolved(all))).toEqual(uploaded)
      expect(resolved(all)).toContainEqual(namedAsListed)
      expect(ids(resolved(custom))).toEqual(uploaded)
      expect(resolved(managed)).toEqual([])
      expect(resolved(associations)).toEqual([])

      // delete answers the deleted certificate; it is gone afterwards.
      const { updated_at: _v, ...leafAsListed } = resolved(leaf)
      expect(resolved(deleted)).toEqual(leafAsListed)
      const notFound = raised(gone)
      expect(notFound).toMatchObject({ class: 'NotFoundError', status: 404 })
      expect(notFound.errors.map((e) => e.code)).toEqual([1472])
      expect(ids(resolved(after))).toEqual([named, root].map((o) => resolved(o).id).sort())
    })
  })

  // PKCS#1 and SEC1 keys, as Cloudflare takes them (the gateway refused them before issue 8).
  // One SDK process for the three, each checked on its own.
  test('create with PKCS#1 (RSA) and SEC1 (EC P-256, P-384) private keys', async () => {
    const cases = [
      { made: rsaLeaf, label: 'RSA PRIVATE KEY' },
      { made: ecLeaf, label: 'EC PRIVATE KEY' },
      { made: p384Leaf, label: 'EC PRIVATE KEY' },
    ]
    const { outcomes, check } = await sdk(
      target(),
      cases.map(({ made }, i) => ({
        token: token(),
        call: 'create',
        args: {
          account_id,
          ca: false,
          certificates: made.pem,
          name: `e2e-key-${i}`,
          private_key: made.traditional,
        },
      })),
    )
    check(() => {
      cases.forEach(({ made, label }, i) => {
        expect(made.traditional).toContain(`-----BEGIN ${label}-----`)
        expectCreated(resolved(outcomes[i]), made, { ca: false, name: `e2e-key-${i}` })
      })
      expect(JSON.stringify(outcomes)).not.toContain('PRIVATE KEY')
    })
  })

  test('refusals: an invalid PEM, a duplicate, an unknown id, a certificate in use, a bad token', async () => {
    const t = token()
    const onGateway = target().name === 'gateway'
    const inUse = await upload(target(), t, { ca: false, certificates: other.pem })
    await emulatorControl.associations(inUse.id, [{ service: 'gateway', status: 'available' }])
    const { outcomes, check } = await sdk(target(), [
      { token: t, call: 'create', args: { account_id, ca: false, certificates: INVALID_PEM } },
      { token: t, call: 'create', args: { account_id, ca: false, certificates: other.pem } },
      { token: t, call: 'get', args: { account_id, id: '3f2c6d4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f' } },
      {
        token: t,
        call: 'delete',
        args: { account_id, id: '3f2c6d4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f' },
      },
      { token: t, call: 'associations', args: { account_id, id: inUse.id } },
      { token: t, call: 'delete', args: { account_id, id: inUse.id } },
      { token: onGateway ? UNKNOWN_KEY : 'not-the-token', call: 'list', args: { account_id } },
    ])
    const codes = (i: number) => raised(outcomes[i]).errors.map((e) => e.code)
    check(() => {
      expect(raised(outcomes[0])).toMatchObject({ class: 'BadRequestError', status: 400 })
      expect(codes(0)).toEqual([onGateway ? 18120 : 1476])
      expect(raised(outcomes[1])).toMatchObject({ class: 'BadRequestError', status: 400 })
      expect(codes(1)).toEqual([1471])
      for (const i of [2, 3]) {
        expect(raised(outcomes[i])).toMatchObject({ class: 'NotFoundError', status: 404 })
        expect(codes(i)).toEqual([1472])
      }
      expect(resolved(outcomes[4])).toEqual([{ service: 'gateway', status: 'available' }])
      expect(raised(outcomes[5])).toMatchObject({ class: 'BadRequestError', status: 400 })
      expect(codes(5)).toEqual([onGateway ? 18302 : 1478])
      // The gateway: 401, no such key; Cloudflare (so the emulator): 403 10000.
      expect(raised(outcomes[6])).toMatchObject(
        onGateway
          ? { class: 'AuthenticationError', status: 401 }
          : { class: 'PermissionDeniedError', status: 403 },
      )
      expect(codes(6)).toEqual([onGateway ? 18003 : 10000])
    })
    expect((await stored()).map((c) => c.id)).toEqual([inUse.id])
  })
})

describe('the SDK against the gateway: what policy refuses', () => {
  test('a delete the member may not do is a PermissionDeniedError (403); nothing reaches Cloudflare', async () => {
    const cert = await upload(gateway(), DEMO_KEYS.alice, { ca: false, certificates: ecLeaf.pem })
    await emulatorControl.clearRequests()
    const { outcomes, check } = await sdk(gateway(), [
      { token: DEMO_KEYS.alice, call: 'delete', args: { account_id, id: cert.id } },
    ])
    check(() => {
      const error = raised(outcomes[0])
      expect(error).toMatchObject({ class: 'PermissionDeniedError', status: 403 })
      expect(error.errors.map((e) => e.code)).toEqual([18301])
    })
    expect(await upstreamCalls('DELETE')).toEqual([])
    expect((await stored()).map((c) => c.id)).toEqual([cert.id])
  })

  test("another team's certificate is a NotFoundError (404), exactly like one that does not exist", async () => {
    const cert = await upload(gateway(), DEMO_KEYS.bob, { ca: false, certificates: ecLeaf.pem })
    const carol = DEMO_KEYS.carol
    const missing = '3f2c6d4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'
    const { outcomes, check } = await sdk(gateway(), [
      { token: carol, call: 'get', args: { account_id, id: cert.id } },
      { token: carol, call: 'associations', args: { account_id, id: cert.id } },
      { token: carol, call: 'delete', args: { account_id, id: cert.id } },
      { token: carol, call: 'get', args: { account_id, id: missing } },
      { token: carol, call: 'list', args: { account_id } },
    ])
    check(() => {
      const errors = outcomes.slice(0, 4).map(raised)
      for (const error of errors) {
        expect(error).toMatchObject({ class: 'NotFoundError', status: 404 })
      }
      // Same errors, same message: nothing tells "someone else's" from "no such certificate".
      expect(new Set(errors.map((e) => JSON.stringify(e.errors))).size).toBe(1)
      expect(resolved(outcomes[4])).toEqual([])
    })
    expect((await stored()).map((c) => c.id)).toEqual([cert.id])
  })

  test('a bad key is a BadRequestError (400) pointing at /private_key; nothing reaches Cloudflare', async () => {
    await emulatorControl.clearRequests()
    const { outcomes, check } = await sdk(gateway(), [
      // A well-formed key, of another certificate.
      {
        token: DEMO_KEYS.alice,
        call: 'create',
        args: { account_id, ca: false, certificates: ecLeaf.pem, private_key: other.pkcs8 },
      },
      // Not a key at all.
      {
        token: DEMO_KEYS.alice,
        call: 'create',
        args: {
          account_id,
          ca: false,
          certificates: ecLeaf.pem,
          private_key: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n',
        },
      },
    ])
    check(() => {
      for (const [i, code] of [
        [0, 18124],
        [1, 18123],
      ] as const) {
        const error = raised(outcomes[i])
        expect(error).toMatchObject({ class: 'BadRequestError', status: 400 })
        expect(error.errors).toEqual([
          expect.objectContaining({ code, source: { pointer: '/private_key' } }),
        ])
      }
    })
    expect(await upstreamCalls('POST')).toEqual([])
  })

  // A 202 with success: true and result: null (the answer before issue 8) would resolve as if the
  // certificate were deleted; 403/18309 raises.
  test("a lead's delete of a CA, parked for an admin's approval, raises a PermissionDeniedError naming the approval", async () => {
    const cert = await upload(gateway(), DEMO_KEYS.bob, {
      ca: true,
      certificates: ca.pem,
      name: 'e2e-ca',
    })
    await emulatorControl.clearRequests()
    const { outcomes, check } = await sdk(gateway(), [
      { token: DEMO_KEYS.bob, call: 'delete', args: { account_id, id: cert.id } },
    ])
    const error = check(() => {
      const error = raised(outcomes[0])
      expect(error).toMatchObject({ class: 'PermissionDeniedError', status: 403 })
      expect(error.errors.map((e) => e.code)).toEqual([18309])
      return error
    })
    await expectNamesApproval(error.errors[0]!.message, cert.id, DEMO_KEYS.bob)
    expect(await upstreamCalls('DELETE')).toEqual([])
    expect((await stored()).map((c) => c.id)).toEqual([cert.id])
  })
})

describe("the SDK's default retries never repeat an upload or a delete", () => {
  // Each failure leaves the gateway unable to know whether Cloudflare acted, so it must answer
  // with something the SDK does not resend (x-should-retry: false on its 5xx).
  const failures = [
    { kind: 'status', status: 500 },
    { kind: 'status', status: 503 },
    { kind: 'non_json', status: 502 },
    { kind: 'drop' },
    { kind: 'reset' },
  ]

  test.each([
    ['upload', 'POST'],
    ['delete', 'DELETE'],
  ] as const)(
    'through the gateway: a failed %s reaches the upstream once, and is not resent',
    async (call, method) => {
      const made = await Promise.all(failures.map(() => makeCertificate({ issuer: ca })))
      const certs =
        call === 'delete'
          ? await Promise.all(
              made.map((m) => upload(gateway(), DEMO_KEYS.bob, { ca: false, certificates: m.pem })),
            )
          : []
      await emulatorControl.clearRequests()
      // One fault per call, in order: a retry would use up the next call's fault and show.
      await emulatorControl.faults(
        failures.map((fault) => ({ ...fault, match: { method }, times: 1 })),
      )
      const steps: SdkStep[] = made.map((m, i) =>
        call === 'upload'
          ? {
              token: DEMO_KEYS.bob,
              call: 'create',
              args: { account_id, ca: false, certificates: m.pem },
            }
          : { token: DEMO_KEYS.bob, call: 'delete', args: { account_id, id: certs[i]!.id } },
      )
      const { outcomes, check } = await sdk(gateway(), steps)
      check(() => {
        outcomes.forEach((outcome, i) => {
          const error = raised(outcome)
          expect(error, JSON.stringify(failures[i])).toMatchObject({
            class: 'InternalServerError',
            status: 502,
            retry: 'false',
          })
        })
      })
      expect(await upstreamCalls(method)).toHaveLength(failures.length)
    },
  )

  test('through the gateway: an upload Cloudflare refused with 429 (so did not do) is retried, and stored once', async () => {
    await emulatorControl.faults([
      { kind: 'rate_limit', retry_after: 1, match: { method: 'POST' } },
    ])
    const { outcomes, check } = await sdk(gateway(), [
      {
        token: DEMO_KEYS.bob,
        call: 'create',
        args: { account_id, ca: false, certificates: ecLeaf.pem },
      },
    ])
    check(() => expectCreated(resolved(outcomes[0]), ecLeaf, { ca: false }))
    expect(await upstreamCalls('POST')).toHaveLength(2)
    expect(await stored()).toHaveLength(1)
  })

  // The control: Cloudflare itself (so the emulator) sends no x-should-retry, and the SDK resends
  // a failed upload twice. The count above would have seen that.
  test('straight against the emulator, the same SDK does resend a failed upload', async () => {
    await emulatorControl.faults([
      { kind: 'status', status: 500, match: { method: 'POST' }, times: 3 },
    ])
    const { outcomes, check } = await sdk(emulator(), [
      {
        token: EMULATOR_TOKEN,
        call: 'create',
        args: { account_id, ca: false, certificates: ecLeaf.pem },
      },
    ])
    check(() =>
      expect(raised(outcomes[0])).toMatchObject({ class: 'InternalServerError', status: 500 }),
    )
    expect(await upstreamCalls('POST')).toHaveLength(3)
  })
})
