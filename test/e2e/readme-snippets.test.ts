/**
 * The examples of the README and the guides live in docs/examples/ and are run here exactly as a
 * reader runs them (from the repository root, against the servers `npm start` starts; only the
 * gateway's address differs), so that what the docs show stays true:
 * - docs/examples/curl.sh           bash, curl and jq
 * - docs/examples/sdk.ts            `npx tsx docs/examples/sdk.ts`, the official SDK
 * - docs/examples/wrangler.sh       bash, openssl and wrangler
 * - docs/examples/audit-collect.sh  bash, curl, jq and `npm run audit:verify` (the operator's guide)
 * A code block of README.md or docs/*.md that names one of these files in its first line must be
 * an excerpt of it.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeEach, describe, expect, test } from 'vitest'
import { ROOT } from '../../scripts/dev-servers.mjs'
import { expectNamesApproval } from './support/approvals'
import {
  ACCOUNT,
  DEMO_KEYS,
  UUID,
  api,
  certificatesPath,
  e2e,
  gateway,
  stored,
  upload,
  type Envelope,
  resetAccount,
} from './support/context'
import { expectSuccess, explained, killClients, run } from './support/processes'

const EXAMPLES = path.join(ROOT, 'docs/examples')

beforeEach(async () => {
  await resetAccount()
})
afterAll(() => killClients())

/** curl -s prints each answer without a line break: split the concatenated JSON documents. */
function documents(text: string): Envelope[] {
  const found: Envelope[] = []
  let depth = 0
  let start = -1
  let inString = false
  let escaped = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (inString) {
      if (escaped) escaped = false
      else if (char === '\\') escaped = true
      else if (char === '"') inString = false
    } else if (char === '"') inString = true
    else if (char === '{') {
      if (depth++ === 0) start = i
    } else if (char === '}' && --depth === 0) {
      found.push(JSON.parse(text.slice(start, i + 1)) as Envelope)
    }
  }
  return found
}

const codes = (answer: Envelope | undefined) => answer?.errors.map((e) => e.code)

describe('docs/examples', () => {
  test('curl.sh: upload, list, get, associations, what carol and alice may not do, a two-person delete', async () => {
    const result = expectSuccess(
      await run('bash', [path.join(EXAMPLES, 'curl.sh')], {
        cwd: ROOT,
        env: { GATEWAY: e2e().gatewayUrl },
      }),
    )
    const answers = documents(result.stdout)
    const [uploaded, listed, got, associations, carol, alice, bob, approved] = answers
    explained(result, () => {
      expect(answers).toHaveLength(8)
      expect(uploaded).toMatchObject({
        success: true,
        result: { ca: true, name: 'example_ca_cert' },
      })
      const id = (uploaded!.result as { id: string }).id
      expect(id).toMatch(UUID)
      expect(listed).toMatchObject({ success: true, result: [{ id }] })
      expect(got).toMatchObject({ success: true, result: { id } })
      expect(associations).toMatchObject({ success: true, result: [] })
      expect(carol).toMatchObject({ success: false, result: null })
      expect(codes(carol)).toEqual([1472])
      expect(codes(alice)).toEqual([18301])
      // A parked delete is an error to a plain client: a 202 with success: true would look done.
      expect(bob).toMatchObject({ success: false, result: null })
      expect(codes(bob)).toEqual([18309])
      expect(approved).toMatchObject({ success: true, result: { id } })
    })
    // The 202 form returned the approval bob's first delete parked (one open approval per
    // certificate), and the admin approved it: it is the one the message names, now executed.
    await expectNamesApproval(
      bob!.errors[0]!.message,
      (uploaded!.result as { id: string }).id,
      DEMO_KEYS.bob,
      'executed',
    )
    expect(await stored()).toEqual([])
  })

  const tsx = path.join(ROOT, 'node_modules/.bin/tsx')
  const sdkSnippet = (key: string) =>
    run(tsx, [path.join(EXAMPLES, 'sdk.ts')], {
      cwd: ROOT,
      timeoutMs: 45_000,
      env: { GATEWAY: e2e().gatewayUrl, MTLS_GATEWAY_KEY: key },
    })

  test('sdk.ts as an admin: upload, list, get, associations, delete', async () => {
    const result = expectSuccess(await sdkSnippet(DEMO_KEYS.admin))
    const id = /^uploaded (\S+) O=Example Inc\.,L=California,ST=San Francisco,C=US$/m.exec(
      result.stdout,
    )?.[1]
    explained(result, () => {
      expect(id).toMatch(UUID)
      expect(result.stdout).toContain(`listed ${id} ci-root\n`)
      expect(result.stdout).toContain('expires 2122-10-29T16:59:47Z\n')
      expect(result.stdout).not.toContain('used by')
      expect(result.stdout).toContain(`deleted ${id}\n`)
    })
    expect(await stored()).toEqual([])
  })

  // A parked delete must raise: were it a 202 with success: true, the SDK would resolve it as the
  // deleted certificate (null) and the snippet would fail on `deleted.id`.
  test("sdk.ts as a lead: the CA's delete waits for an admin, and the SDK says so", async () => {
    const result = expectSuccess(await sdkSnippet(DEMO_KEYS.bob))
    const id = /^uploaded (\S+) /m.exec(result.stdout)?.[1]
    const message = /^not deleted yet: (.*)$/m.exec(result.stdout)?.[1]
    explained(result, () => {
      expect(id).toMatch(UUID)
      expect(message).toBeDefined()
    })
    await expectNamesApproval(message!, id!, DEMO_KEYS.bob, 'executed')
    // The walkthrough has an admin approve it, so it leaves nothing behind.
    expect(result.stdout).toContain(`approved and deleted ${id}\n`)
    expect(await stored()).toEqual([])
  })

  test('each example runs twice, in any order, and leaves the account as it found it', async () => {
    const curl = () =>
      run('bash', [path.join(EXAMPLES, 'curl.sh')], {
        cwd: ROOT,
        env: { GATEWAY: e2e().gatewayUrl },
      })
    for (const example of [
      () => sdkSnippet(DEMO_KEYS.bob),
      curl,
      () => sdkSnippet(DEMO_KEYS.admin),
      () => sdkSnippet(DEMO_KEYS.bob),
      curl,
    ]) {
      expectSuccess(await example())
      expect(await stored()).toEqual([])
    }
  })

  // wrangler's uploads are text/plain;charset=UTF-8, which the gateway takes as JSON.
  test('wrangler.sh: a client certificate and a CA uploaded, listed and deleted', async () => {
    const result = expectSuccess(
      await run('bash', [path.join(EXAMPLES, 'wrangler.sh')], {
        cwd: ROOT,
        timeoutMs: 60_000,
        env: {
          GATEWAY: e2e().gatewayUrl,
          WRANGLER_SEND_METRICS: 'false',
          // As support/wrangler.ts: the banner's update check would ask the npm registry each time.
          WRANGLER_HIDE_BANNER: 'true',
          WRANGLER_LOG_PATH: path.join(e2e().workDir, 'wrangler-logs'),
        },
      }),
    )
    explained(result, () => {
      const out = result.stdout
      expect(out).toContain('Success! Uploaded mTLS Certificate payments-client')
      expect(out).toMatch(/^Name: payments-client$/m)
      expect(out).toMatch(/^Deleted certificate \S+ \(payments-client\) successfully$/m)
      expect(out).toContain('Success! Uploaded CA Certificate example_ca_cert')
      expect(out).toMatch(/^Name: example_ca_cert\nIssuer: O=Example Inc\./m)
      expect(out).toMatch(/^Deleted certificate \S+ \(example_ca_cert\) successfully$/m)
    })
    expect(await stored()).toEqual([])
  })

  // The demo's published signing key (scripts/dev-servers.mjs): what `npm start` signs entries with.
  const DEMO_AUDIT_SIGNING_KEY = 'demo-audit-signing-key-not-a-secret-0000'
  const AUDITOR = 'mtlsgw_DEMO_platform_auditor_xxxxxxxxxxxxxxxxxxxxx'

  test('audit-collect.sh: a window exported, its chains checkpointed, both verified offline', async () => {
    // Let the previous tests' reads take their places in the chains before the window opens.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const from = new Date().toISOString()
    const pem = readFileSync(path.join(ROOT, 'test/fixtures/example-ca.pem'), 'utf8')
    const cert = await upload(gateway(), DEMO_KEYS.admin, { ca: true, certificates: pem })
    const deleted = await api(gateway(), DEMO_KEYS.admin, certificatesPath(cert.id), {
      method: 'DELETE',
    })
    expect(deleted.status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const to = new Date().toISOString()
    const archive = mkdtempSync(path.join(e2e().workDir, 'audit-archive-'))
    const result = expectSuccess(
      await run('bash', [path.join(EXAMPLES, 'audit-collect.sh')], {
        cwd: ROOT,
        timeoutMs: 60_000,
        env: {
          GATEWAY: e2e().gatewayUrl,
          MTLSGW_KEY: AUDITOR,
          AUDIT_SIGNING_KEY: DEMO_AUDIT_SIGNING_KEY,
          ARCHIVE: archive,
          FROM: from,
          TO: to,
        },
      }),
    )
    const files = readdirSync(archive).sort()
    explained(result, () => {
      expect(result.stdout).toContain("pinned the gateway's public key")
      // The upload and the delete: pending, then final, under one key each.
      expect(result.stdout).toMatch(/^2 entries checked, 0 problems, 0 pending$/m)
      expect(result.stdout).toMatch(
        new RegExp(`^chain\\t${ACCOUNT}\\t#\\d+\\.\\.#\\d+\\tlinks hold$`, 'm'),
      )
      expect(files).toEqual([
        expect.stringMatching(/^audit-\d{8}T\d{6}Z-1\.ndjson$/),
        'audit-key.jwk',
        'checkpoints.jsonl',
      ])
    })
    const checkpoints = readFileSync(path.join(archive, 'checkpoints.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { chain: string; checkpoint: number })
    expect(checkpoints.map((c) => c.chain)).toContain(ACCOUNT)
    expect(checkpoints.every((c) => c.checkpoint === 2)).toBe(true)
  })
})

describe('README and guides', () => {
  const docs = [
    'README.md',
    ...readdirSync(path.join(ROOT, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ]

  /** Which docs/examples files each document quotes; each quote must be an excerpt of its file. */
  function quotes(doc: string): string[] {
    const text = readFileSync(path.join(ROOT, doc), 'utf8')
    const quoted: string[] = []
    for (const [, body] of text.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)) {
      const [first, ...rest] = body!.split('\n')
      const named = /docs\/examples\/([\w.-]+)/.exec(first ?? '')?.[1]
      if (named === undefined) continue
      const file = readFileSync(path.join(EXAMPLES, named), 'utf8')
      expect(file, `${doc}: block naming docs/examples/${named}`).toContain(rest.join('\n').trim())
      quoted.push(named)
    }
    return quoted.sort()
  }

  test.each(docs)('%s: a code block that names a docs/examples file is an excerpt of it', (doc) => {
    quotes(doc)
  })

  test('the README quotes the three clients, the guides the rest of docs/examples', () => {
    // The README's "Calling the gateway" shows all three, so none of them can drift untested.
    expect([...new Set(quotes('README.md'))]).toEqual(['curl.sh', 'sdk.ts', 'wrangler.sh'])
    const inGuides = new Set(docs.slice(1).flatMap(quotes))
    expect([...inGuides].sort()).toEqual(readdirSync(EXAMPLES).sort())
  })
})
