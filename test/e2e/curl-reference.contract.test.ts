/**
 * The curl lines of Cloudflare's API reference (reference/mtls-certificates-api.md), run by real
 * curl with only the host and the token changed, against the gateway and straight against the
 * emulator, with the reference's own example certificate and key. Each answer is compared field by
 * field with the reference's example response:
 * - exactly: success, ca, certificates, name and what is computed from the PEM (issuer,
 *   serial_number, signature, expires_on, checked against test/fixtures' documented values too),
 *   list's result_info, the association;
 * - by format: id (the reference prints a 32-hex placeholder; real ids are UUIDs), uploaded_on and
 *   updated_at (RFC 3339 with microseconds), the message arrays (the reference shows a placeholder
 *   item on a success; an item must be {code ≥ 1000, message});
 * - the fields beyond the example are listed here (`type`, which the reference's schema has).
 *
 * How a line is run: its ` \ ` marks are the line breaks of the original shell command (the
 * reference prints each command on one line), so they become line continuations again. curl's
 * output options (silent, the status after the body) come from a curlrc, not from the line.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { ROOT } from '../../scripts/dev-servers.mjs'
import {
  DEMO_KEYS,
  EMULATOR_TOKEN,
  MICROS_TIMESTAMP,
  UUID,
  ACCOUNT,
  e2e,
  emulator,
  emulatorControl,
  gateway,
  stored,
  type Envelope,
  type Target,
  resetAccount,
} from './support/context'
import { explained, killClients, run, type Run } from './support/processes'
import { REFERENCE_BASE, referenceOperations, type Operation } from './support/reference'

const LIST = 'get /accounts/{account_id}/mtls_certificates'
const GET = 'get /accounts/{account_id}/mtls_certificates/{mtls_certificate_id}'
const UPLOAD = 'post /accounts/{account_id}/mtls_certificates'
const DELETE = 'delete /accounts/{account_id}/mtls_certificates/{mtls_certificate_id}'
const ASSOCIATIONS =
  'get /accounts/{account_id}/mtls_certificates/{mtls_certificate_id}/associations'

/** test/fixtures/README: what the example certificate must produce (the reference's values). */
const COMPUTED = {
  issuer: 'O=Example Inc.,L=California,ST=San Francisco,C=US',
  serial_number: '235217144297995885180570755458463043449861756659',
  signature: 'SHA256WithRSA',
  expires_on: '2122-10-29T16:59:47Z',
}

/** Fields an answer may carry beyond the reference's example, and what they must hold. */
const BEYOND_EXAMPLE = { type: 'custom' }

let operations: Map<string, Operation>
let curlHome: string

beforeAll(() => {
  operations = referenceOperations()
  curlHome = path.join(e2e().workDir, 'curl-home')
  mkdirSync(curlHome, { recursive: true })
  writeFileSync(
    path.join(curlHome, '.curlrc'),
    'silent\nshow-error\nwrite-out = "\\n%{http_code}"\n',
  )
})
beforeEach(async () => {
  await resetAccount()
})
afterAll(() => killClients())

const operation = (key: string) => {
  const found = operations.get(key)
  if (!found) throw new Error(`the reference has no ${key}`)
  return found
}

/** The reference's line with the host replaced; `\ ` marks back to line continuations. */
function script(line: string, target: Target) {
  expect(line.startsWith(`curl ${REFERENCE_BASE}/`)).toBe(true)
  return line.replaceAll(' \\ ', ' \\\n  ').replace(REFERENCE_BASE, target.apiBase)
}

interface Answer {
  status: number
  body: Envelope
  run: Run
}

async function curl(
  line: string,
  target: Target,
  token: string,
  certificateId = '',
): Promise<Answer> {
  const result = await run('bash', ['-c', script(line, target)], {
    cwd: ROOT,
    timeoutMs: 15_000,
    env: {
      CURL_HOME: curlHome,
      ACCOUNT_ID: ACCOUNT,
      CLOUDFLARE_API_TOKEN: token,
      MTLS_CERTIFICATE_ID: certificateId,
    },
  })
  return explained(result, () => {
    expect(result.code).toBe(0)
    const cut = result.stdout.lastIndexOf('\n')
    return {
      status: Number(result.stdout.slice(cut + 1)),
      body: JSON.parse(result.stdout.slice(0, cut)) as Envelope,
      run: result,
    }
  })
}

type Certificateish = Record<string, unknown>

/** One certificate of an answer against the reference's example certificate, field by field. */
function expectCertificateLikeExample(
  actual: Certificateish,
  example: Certificateish,
  id?: string,
) {
  const expected: Record<string, unknown> = { ...BEYOND_EXAMPLE }
  for (const [field, value] of Object.entries(example)) {
    if (field === 'id') expected.id = id ?? expect.stringMatching(UUID)
    else if (field === 'uploaded_on' || field === 'updated_at') {
      expected[field] = expect.stringMatching(MICROS_TIMESTAMP)
    } else expected[field] = value
  }
  expect(actual).toEqual(expected)
  expect(actual).toMatchObject(COMPUTED)
}

const messageItem = { code: expect.any(Number), message: expect.any(String) }

/** The envelope: the same fields as the example, success as the example, well-formed messages. */
function expectEnvelopeLikeExample(answer: Answer, example: Envelope) {
  explained(answer.run, () => {
    expect(answer.status).toBe(200)
    expect(Object.keys(answer.body).sort()).toEqual(Object.keys(example).sort())
    expect(answer.body.success).toBe(example.success)
    for (const field of ['errors', 'messages'] as const) {
      expect(Array.isArray(answer.body[field])).toBe(true)
      for (const item of answer.body[field]) {
        expect(item).toMatchObject(messageItem)
        expect(item.code).toBeGreaterThanOrEqual(1000)
      }
    }
    // A success carries no errors, whatever the example's placeholder shows.
    expect(answer.body.errors).toEqual([])
  })
}

const exampleCa = readFileSync(path.join(ROOT, 'test/fixtures/example-ca.pem'), 'utf8')
const exampleKey = readFileSync(path.join(ROOT, 'test/fixtures/example-ca.key'), 'utf8')

const targets: [string, () => Target, () => string][] = [
  // The admin: the reference's sequence ends by deleting a CA, which the demo policy lets only an
  // admin do without a second person.
  ['gateway', gateway, () => DEMO_KEYS.admin],
  ['emulator', emulator, () => EMULATOR_TOKEN],
]

describe.each(targets)("the reference's curl lines against the %s", (_name, target, token) => {
  test('the example body and key are the fixtures', () => {
    const body = /-d '(.*)'$/.exec(operation(UPLOAD).curl)![1]!
    const parsed = JSON.parse(body.replaceAll('\\\\n', '\\n')) as Record<string, string>
    expect(parsed.certificates).toBe(exampleCa.trimEnd())
    expect(parsed.private_key).toBe(exampleKey.trimEnd())
  })

  test('upload, list, get, associations, delete: each answer is the example response', async () => {
    const t = token()
    // The reference prints the body's line breaks as `\\n` (a backslash and an n once the shell
    // and JSON are done), while its example responses hold the same PEM with real line breaks:
    // the doubling is the rendering's. The line is run with `\n`, as the response shows it.
    const upload = operation(UPLOAD)
    const uploaded = await curl(upload.curl.replaceAll('\\\\n', '\\n'), target(), t)
    expectEnvelopeLikeExample(uploaded, upload.response)
    const cert = uploaded.body.result as Certificateish
    explained(uploaded.run, () =>
      expectCertificateLikeExample(cert, upload.response.result as Certificateish),
    )
    const id = cert.id as string
    expect(JSON.stringify(uploaded.body)).not.toContain('PRIVATE KEY')

    const list = operation(LIST)
    const listed = await curl(list.curl, target(), t)
    expectEnvelopeLikeExample(listed, list.response)
    explained(listed.run, () => {
      const [example] = list.response.result as Certificateish[]
      expect(listed.body.result).toHaveLength(1)
      expectCertificateLikeExample((listed.body.result as Certificateish[])[0]!, example!, id)
      expect(listed.body.result_info).toEqual(list.response.result_info)
    })

    const get = operation(GET)
    const got = await curl(get.curl, target(), t, id)
    expectEnvelopeLikeExample(got, get.response)
    explained(got.run, () =>
      expectCertificateLikeExample(
        got.body.result as Certificateish,
        get.response.result as Certificateish,
        id,
      ),
    )

    const associations = operation(ASSOCIATIONS)
    await emulatorControl.associations(
      id,
      associations.response.result as { service: string; status: string }[],
    )
    const associated = await curl(associations.curl, target(), t, id)
    expectEnvelopeLikeExample(associated, associations.response)
    explained(associated.run, () => {
      expect(associated.body.result).toEqual(associations.response.result)
      // The example's totals (2000 in 100 pages) are placeholders; count, page and per_page are not.
      const info = associated.body.result_info!
      const example = associations.response.result_info!
      expect(Object.keys(info).sort()).toEqual(Object.keys(example).sort())
      expect(info).toMatchObject({ count: 1, page: example.page, per_page: example.per_page })
      expect(info).toMatchObject({ total_count: 1, total_pages: 1 })
    })
    await emulatorControl.associations(id, [])

    const del = operation(DELETE)
    const deleted = await curl(del.curl, target(), t, id)
    expectEnvelopeLikeExample(deleted, del.response)
    explained(deleted.run, () =>
      expectCertificateLikeExample(
        deleted.body.result as Certificateish,
        del.response.result as Certificateish,
        id,
      ),
    )
    expect(await stored()).toEqual([])

    // Not in the reference: the deleted certificate is not found afterwards.
    const gone = await curl(get.curl, target(), t, id)
    explained(gone.run, () => {
      expect(gone.status).toBe(404)
      expect(gone.body).toEqual({
        success: false,
        errors: [{ code: 1472, message: 'Certificate not found' }],
        messages: [],
        result: null,
      })
    })
  })

  test('the upload line exactly as printed (PEM line breaks as `\\\\n`) is refused as no certificate', async () => {
    const answer = await curl(operation(UPLOAD).curl, target(), token())
    explained(answer.run, () => {
      expect(answer.status).toBe(400)
      expect(answer.body).toMatchObject({ success: false, messages: [], result: null })
      expect(answer.body.errors).toEqual([
        target().name === 'gateway'
          ? expect.objectContaining({ code: 18120, source: { pointer: '/certificates' } })
          : { code: 1476, message: 'unable to parse certificate' },
      ])
    })
    expect(await stored()).toEqual([])
  })
})
