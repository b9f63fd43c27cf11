/**
 * wrangler 4.86's certificate commands (support/wrangler.ts says how they are run), against the
 * gateway and straight against the emulator: each exits 0 and its effect shows in the account
 * afterwards; a delete parked for approval makes wrangler fail with the approval's message.
 *
 * What wrangler sends (packages/wrangler/src/api/mtls-certificate.ts): uploads are
 * `JSON.stringify(...)` bodies with no content type, so they arrive as
 * `text/plain;charset=UTF-8`; `mtls-certificate list` adds `ca=false`; `--name` lists with
 * `name=<name>` and requires exactly one match, so it relies on the server filtering.
 */
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { expectNamesApproval } from './support/approvals'
import { makeCertificate, writePair, type Made } from './support/certificates'
import {
  DEMO_KEYS,
  EMULATOR_TOKEN,
  e2e,
  emulator,
  emulatorControl,
  gateway,
  stored,
  upload,
  upstreamCalls,
  type Certificate,
  type Target,
  resetAccount,
} from './support/context'
import { expectFailure, expectSuccess, explained, killClients } from './support/processes'
import { listed, uploadedId, wrangler } from './support/wrangler'

let ca: Made
const leaves: Made[] = []
let files: (name: string) => { cert: string; key: string }

beforeAll(async () => {
  ca = await makeCertificate({ ca: true })
  for (let i = 0; i < 5; i++) leaves.push(await makeCertificate({ issuer: ca }))
  const dir = path.join(e2e().workDir, 'wrangler-files')
  const written = new Map<string, { cert: string; key: string }>()
  written.set('ca', writePair(dir, 'ca', ca))
  leaves.forEach((leaf, i) => written.set(`leaf${i}`, writePair(dir, `leaf${i}`, leaf)))
  files = (name) => written.get(name)!
})
beforeEach(async () => {
  await resetAccount()
})
afterAll(() => killClients())

const ids = async () => (await stored()).map((c) => c.id).sort()

// wrangler spends about a second of CPU starting; commands whose effects are independent run side
// by side, and each one's effect is checked afterwards.

/** The three upload commands, each of its own certificate; each shows in the account afterwards. */
async function uploadsShowInTheAccount(target: Target, token: string) {
  const leaf = (i: number) => ['--cert', files(`leaf${i}`).cert, '--key', files(`leaf${i}`).key]
  const commands: [string[], { ca: boolean; name: string }][] = [
    [
      ['mtls-certificate', 'upload', ...leaf(0), '--name', 'w-leaf0'],
      { ca: false, name: 'w-leaf0' },
    ],
    [
      ['cert', 'upload', 'mtls-certificate', ...leaf(1), '--name', 'w-leaf1'],
      { ca: false, name: 'w-leaf1' },
    ],
    [
      ['cert', 'upload', 'certificate-authority', '--ca-cert', files('ca').cert, '--name', 'w-ca'],
      { ca: true, name: 'w-ca' },
    ],
  ]
  const results = await Promise.all(commands.map(([args]) => wrangler(target, token, args)))
  const after = await stored()
  const seen = results.map((result, i) =>
    explained(expectSuccess(result), () => {
      const id = uploadedId(result.stdout)
      expect(result.stdout).toContain(`Success! Uploaded`)
      expect(after.find((c) => c.id === id)).toMatchObject(commands[i]![1])
      return id!
    }),
  )
  expect(after.map((c) => c.id).sort()).toEqual(seen.sort())
}

/** Each delete command removes its own certificate, and only that one. */
async function deletesEachRemoveTheirCertificate(
  target: Target,
  token: string,
  commands: { args: string[]; cert: Certificate }[],
  kept: Certificate[] = [],
) {
  const results = await Promise.all(commands.map(({ args }) => wrangler(target, token, args)))
  const left = await ids()
  results.forEach((result, i) =>
    explained(expectSuccess(result), () => {
      const { id } = commands[i]!.cert
      expect(result.stdout).toMatch(new RegExp(`Deleted certificate ${id} .*successfully`))
      expect(left).not.toContain(id)
    }),
  )
  expect(left).toEqual(kept.map((c) => c.id).sort())
}

/** `mtls-certificate list` shows the leaf only (wrangler sends ca=false); `cert list` both. */
async function expectListsLeafThenBoth(
  target: Target,
  token: string,
  leaf: Certificate,
  root: Certificate,
) {
  const [mtls, cert] = await Promise.all([
    wrangler(target, token, ['mtls-certificate', 'list']),
    wrangler(target, token, ['cert', 'list']),
  ])
  explained(expectSuccess(mtls), () =>
    expect(listed(mtls.stdout)).toEqual([{ id: leaf.id, name: 'w-leaf', ca: false }]),
  )
  explained(expectSuccess(cert), () =>
    expect(listed(cert.stdout)).toEqual([
      { id: leaf.id, name: 'w-leaf', ca: false },
      { id: root.id, name: 'w-ca', ca: true },
    ]),
  )
}

describe('wrangler against the gateway', () => {
  // wrangler sends its upload bodies as text/plain;charset=UTF-8 (refused 415/18112 before
  // issue 8): the gateway takes them as JSON, as Cloudflare does.
  test('mtls-certificate upload, cert upload mtls-certificate, cert upload certificate-authority', async () => {
    await uploadsShowInTheAccount(gateway(), DEMO_KEYS.bob)
  })

  test('mtls-certificate list shows the leaves only (ca=false); cert list shows the CA too', async () => {
    const leaf = await upload(gateway(), DEMO_KEYS.bob, {
      ca: false,
      certificates: leaves[0]!.pem,
      name: 'w-leaf',
    })
    const root = await upload(gateway(), DEMO_KEYS.bob, {
      ca: true,
      certificates: ca.pem,
      name: 'w-ca',
    })
    // Another team's certificate, which bob must not see in either list.
    await upload(gateway(), DEMO_KEYS.carol, {
      ca: false,
      certificates: leaves[1]!.pem,
      name: 'w-carol',
    })

    await expectListsLeafThenBoth(gateway(), DEMO_KEYS.bob, leaf, root)
  })

  test('mtls-certificate delete --id and --name, cert delete --id and --name: each certificate is gone', async () => {
    const certs: Certificate[] = []
    for (let i = 0; i < 4; i++) {
      const body = { ca: false, certificates: leaves[i]!.pem, name: `w-del${i}` }
      certs.push(await upload(gateway(), DEMO_KEYS.bob, body))
    }
    // carol's certificate of the same name: bob's --name must find only his own.
    const carols = await upload(gateway(), DEMO_KEYS.carol, {
      ca: false,
      certificates: leaves[4]!.pem,
      name: 'w-del1',
    })
    await deletesEachRemoveTheirCertificate(
      gateway(),
      DEMO_KEYS.bob,
      [
        { args: ['mtls-certificate', 'delete', '--id', certs[0]!.id], cert: certs[0]! },
        { args: ['mtls-certificate', 'delete', '--name', 'w-del1'], cert: certs[1]! },
        { args: ['cert', 'delete', '--id', certs[2]!.id], cert: certs[2]! },
        { args: ['cert', 'delete', '--name', 'w-del3'], cert: certs[3]! },
      ],
      [carols],
    )
  })

  // A 202 with success: true (the answer before issue 8) makes wrangler print "Deleted …
  // successfully" and exit 0 while nothing was deleted; 403/18309 makes it fail with the message.
  test("a lead's delete of a CA, parked for an admin's approval, makes wrangler fail with the approval", async () => {
    const root = await upload(gateway(), DEMO_KEYS.bob, {
      ca: true,
      certificates: ca.pem,
      name: 'w-ca',
    })
    await emulatorControl.clearRequests()
    const result = await wrangler(gateway(), DEMO_KEYS.bob, ['cert', 'delete', '--id', root.id])
    explained(result, () => {
      expectFailure(result)
      expect(result.stdout + result.stderr).not.toMatch(/Deleted certificate/)
      expect(result.stdout + result.stderr).toContain('18309')
    })
    await expectNamesApproval(result.stdout + result.stderr, root.id, DEMO_KEYS.bob)
    expect(await upstreamCalls('DELETE')).toEqual([])
    expect(await ids()).toEqual([root.id])
  })
})

describe('wrangler straight against the emulator', () => {
  test('mtls-certificate upload, cert upload mtls-certificate, cert upload certificate-authority', async () => {
    await uploadsShowInTheAccount(emulator(), EMULATOR_TOKEN)
  })

  // The emulator applies `ca=false` as Cloudflare does (emulator/src/list-filter.ts).
  test('mtls-certificate list shows the leaves only (ca=false); cert list shows the CA too', async () => {
    const leaf = await upload(emulator(), EMULATOR_TOKEN, {
      ca: false,
      certificates: leaves[0]!.pem,
      name: 'w-leaf',
    })
    const root = await upload(emulator(), EMULATOR_TOKEN, {
      ca: true,
      certificates: ca.pem,
      name: 'w-ca',
    })
    await expectListsLeafThenBoth(emulator(), EMULATOR_TOKEN, leaf, root)
  })

  // --name relies on the server filtering by name (emulator/src/list-filter.ts): without it,
  // wrangler finds "multiple certificates" whenever the account holds more than one.
  test('mtls-certificate delete --id, mtls-certificate delete --name, cert delete --name', async () => {
    const certs: Certificate[] = []
    for (let i = 0; i < 4; i++) {
      const body = { ca: false, certificates: leaves[i]!.pem, name: `w-n${i}` }
      certs.push(await upload(emulator(), EMULATOR_TOKEN, body))
    }
    await deletesEachRemoveTheirCertificate(
      emulator(),
      EMULATOR_TOKEN,
      [
        { args: ['mtls-certificate', 'delete', '--id', certs[0]!.id], cert: certs[0]! },
        { args: ['mtls-certificate', 'delete', '--name', 'w-n1'], cert: certs[1]! },
        { args: ['cert', 'delete', '--name', 'w-n2'], cert: certs[2]! },
      ],
      [certs[3]!],
    )
  })
})
