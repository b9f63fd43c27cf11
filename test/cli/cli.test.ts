/** `npm run policy:check`, `npm run key` and `npm run audit:verify`, run as an operator runs them. */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expand, fit, summarize, type AuditEntry } from '../../src/audit/entry'
import { signCheckpoint } from '../../src/audit/checkpoint'
import { publicKeyOf, signText, type PrivateJwk } from '../../src/audit/ed25519'
import { markerText, type ExportMarker } from '../../src/audit/marker'
import { canonical, nextLineDigest, sha256, sign, signMarker } from '../../src/audit/signing'
import { AUDIT_ED25519_JWK, KEYS } from '../support/identities'
import { serveGateway, type ServedGateway } from './served-gateway'

const tsx = path.resolve('node_modules/.bin/tsx')
const run = (script: string, args: string[]) => {
  const result = spawnSync(tsx, [`scripts/${script}.ts`, ...args], { encoding: 'utf8' })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}
const dir = mkdtempSync(path.join(tmpdir(), 'mtls-gateway-cli-'))
const write = (name: string, content: unknown) => {
  const file = path.join(dir, name)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

/** What an operator sees of a refused command line: the problem, the usage line, nothing else. */
function expectRefused(result: ReturnType<typeof run>, name: string, problem: string) {
  expect(result.status).toBe(2)
  expect(result.stdout).toBe('')
  const lines = result.stderr.trimEnd().split('\n')
  expect(lines).toHaveLength(2)
  expect(lines[0]).toBe(`${name}: ${problem}`)
  expect(lines[1]).toMatch(new RegExp(`^usage: npm run ${name} -- .*\\(--help for more\\)$`))
}

describe.each([
  {
    name: 'key',
    script: 'mint-key',
    missingValue: [['--member'], "Option '--member <value>' argument missing"],
    stray: [
      ['erin'],
      "Unexpected argument 'erin'. This command does not take positional arguments",
    ],
  },
  {
    name: 'policy:check',
    script: 'policy-check',
    missingValue: [
      ['demo/policy.json', '--upstream'],
      "Option '--upstream <value>' argument missing",
    ],
    stray: [['demo/policy.json', 'other.json'], 'give exactly one policy file (got 2)'],
  },
  {
    name: 'audit:verify',
    script: 'audit-verify',
    missingValue: [['--from'], "Option '--from <value>' argument missing"],
    stray: [
      ['audit.ndjson'],
      "Unexpected argument 'audit.ndjson'. This command does not take positional arguments",
    ],
  },
] as const)('$name on the command line', ({ name, script, missingValue, stray }) => {
  it.each([[['--help']], [['-h']], [['--no-such-option', '--help']]])(
    'prints its usage on stdout for %j and exits 0',
    (args) => {
      const { status, stdout, stderr } = run(script, [...args])
      expect(status).toBe(0)
      expect(stderr).toBe('')
      expect(stdout).toMatch(new RegExp(`^usage: npm run ${name} -- `))
      expect(stdout).toContain('-h, --help')
      expect(stdout).toContain('Exit status: 0 when')
    },
  )

  it('refuses an unknown option in one line, with the usage line, exit 2', () => {
    expectRefused(run(script, ['--no-such-option']), name, "Unknown option '--no-such-option'")
  })

  it('refuses an option without its value the same way', () => {
    expectRefused(run(script, [...missingValue[0]]), name, missingValue[1])
  })

  it('refuses a stray argument the same way', () => {
    expectRefused(run(script, [...stray[0]]), name, stray[1])
  })
})

describe('policy:check', () => {
  it('accepts the demo policy against a loopback upstream and summarises it', () => {
    const { status, stdout } = run('policy-check', [
      'demo/policy.json',
      '--upstream',
      'http://127.0.0.1:8788/client/v4',
    ])
    expect(status).toBe(0)
    expect(stdout).toContain('valid: 3 teams, 5 members, 8 rules (1 in shadow mode)')
  })

  it('refuses the demo policy in front of the real Cloudflare API', () => {
    const { status, stderr } = run('policy-check', ['demo/policy.json'])
    expect(status).toBe(1)
    expect(stderr).toContain('demo policy')
    expect(stderr).toContain('mint each member a key with `npm run key -- --policy <file>`')
  })

  it('names every problem by its path and exits 1', () => {
    const file = write('bad.json', {
      version: 1,
      teams: [{ id: 'payments', accounts: ['0123456789abcdef0123456789abcdef'] }],
      members: [{ id: 'alice', team: 'ghosts', roles: ['dev'], key_sha256: 'a'.repeat(64) }],
      rules: [
        {
          id: 'r',
          description: 'd',
          effect: 'allow',
          actions: ['get'],
          subjects: { teams: ['nobody'] },
        },
      ],
    })
    const { status, stderr } = run('policy-check', [file])
    expect(status).toBe(1)
    expect(stderr).toContain(`${file}#/members/0/team: unknown team "ghosts"`)
    expect(stderr).toContain(`${file}#/rules/0/subjects/teams/0: unknown team "nobody"`)
  })

  it('warns as the document nears the 5 KB a Worker secret holds, and refuses one over it', () => {
    const demo = JSON.parse(readFileSync('demo/policy.json', 'utf8')) as {
      members: Record<string, unknown>[]
    }
    const member = (i: number) => ({
      id: `member-${i}`,
      team: 'payments',
      roles: ['developer'],
      key_sha256: createHash('sha256').update(`key ${i}`).digest('hex'),
    })
    const withMembers = (n: number) =>
      write(`members-${n}.json`, {
        ...demo,
        members: [...demo.members, ...Array.from({ length: n }, (_, i) => member(i))],
      })
    const loopback = ['--upstream', 'http://127.0.0.1:8788/client/v4']
    const small = run('policy-check', ['demo/policy.json', ...loopback])
    expect([small.status, small.stderr]).toEqual([0, ''])
    const near = run('policy-check', [withMembers(12), ...loopback])
    expect(near.status).toBe(0)
    expect(near.stderr).toMatch(
      /warning: \d{4} of the 5120 bytes a Worker secret may hold \(compacted\); about \d+ more keyed members fit/,
    )
    const over = run('policy-check', [withMembers(30), ...loopback])
    expect(over.status).toBe(1)
    expect(over.stderr).toMatch(/over the 5120 a Worker secret may hold/)
  })

  it('refuses a file that is not JSON, and a missing file', () => {
    expect(run('policy-check', [write('not.json', '{')]).status).toBe(1)
    expect(run('policy-check', [path.join(dir, 'missing.json')]).status).toBe(1)
    expectRefused(run('policy-check', []), 'policy:check', 'give exactly one policy file (got 0)')
  })
})

describe('key', () => {
  it('prints a new key once and a member entry holding only its hash', () => {
    const { status, stdout } = run('mint-key', [
      '--member',
      'erin',
      '--team',
      'payments',
      '--role',
      'developer',
      '--role',
      'lead',
    ])
    expect(status).toBe(0)
    const key = /mtlsgw_[A-Za-z0-9_-]{43}/.exec(stdout)![0]
    const entry = JSON.parse(stdout.slice(stdout.indexOf('{')))
    expect(entry).toEqual({
      id: 'erin',
      team: 'payments',
      roles: ['developer', 'lead'],
      key_sha256: createHash('sha256').update(key).digest('hex'),
    })
    expect(stdout.split(key).length - 1).toBe(1)
    expect(
      run('mint-key', ['--member', 'erin', '--team', 'payments', '--role', 'developer']).stdout,
    ).not.toContain(key)
  })

  it('adds an expiry, and refuses missing arguments or a bad date', () => {
    const { stdout } = run('mint-key', [
      '--member',
      'e',
      '--team',
      't',
      '--role',
      'r',
      '--expires',
      '2027-06-30',
    ])
    expect(JSON.parse(stdout.slice(stdout.indexOf('{')))).toMatchObject({
      expires_at: '2027-06-30T00:00:00.000Z',
    })
    expectRefused(run('mint-key', ['--member', 'e']), 'key', 'missing --team, --role')
    expectRefused(
      run('mint-key', ['--member', 'e', '--team', 't', '--role', 'r', '--expires', 'soon']),
      'key',
      '--expires: not a date: soon',
    )
  })

  it('refuses what policy:check would refuse: ids, and an expiry in the past', () => {
    const args = (member: string, expires?: string) => [
      '--member',
      member,
      '--team',
      'payments',
      '--role',
      'developer',
      ...(expires === undefined ? [] : ['--expires', expires]),
    ]
    expectRefused(
      run('mint-key', args('Erin Smith')),
      'key',
      '--member Erin Smith: must be 1-63 lowercase letters, digits, ".", "_" or "-"',
    )
    expectRefused(
      run('mint-key', ['--member', 'erin', '--team', 'payments', '--role', 'Dev']),
      'key',
      '--role Dev: must be 1-63 lowercase letters, digits, ".", "_" or "-"',
    )
    expectRefused(
      run('mint-key', args('erin', '2020-01-01')),
      'key',
      '--expires: 2020-01-01 is in the past; the key would never work',
    )
  })

  it('checks the entry against a policy file: unknown team refused, a known member re-keyed', () => {
    const unknownTeam = run('mint-key', [
      '--member',
      'erin',
      '--team',
      'ghosts',
      '--role',
      'developer',
      '--policy',
      'demo/policy.json',
    ])
    expect(unknownTeam.status).toBe(1)
    expect(unknownTeam.stdout).toBe('')
    expect(unknownTeam.stderr).toContain('unknown team "ghosts"')
    expect(unknownTeam.stderr).toContain('no key minted')

    const rekey = run('mint-key', [
      '--member',
      'alice',
      '--team',
      'payments',
      '--role',
      'developer',
      '--policy',
      'demo/policy.json',
    ])
    expect(rekey.status).toBe(0)
    expect(rekey.stdout).toContain('Member alice is in demo/policy.json: replace its entry')

    const added = run('mint-key', [
      '--member',
      'erin',
      '--team',
      'identity',
      '--role',
      'developer',
      '--policy',
      'demo/policy.json',
    ])
    expect(added.status).toBe(0)
    expect(added.stdout).toContain(`Member entry for the policy's "members" list`)
  })
})

// Each of these runs the tool several times, a second or more each on a busy machine.
describe('audit:verify on an export', { timeout: 60_000 }, () => {
  const signingKey = 'cli-test-audit-signing-key-0123456789'

  /** One NDJSON line as the gateway's export writes it: the entry and its signed KV metadata. */
  async function exportLine(outcome: AuditEntry['outcome'], id = crypto.randomUUID()) {
    const entry: AuditEntry = {
      kind: 'request',
      id,
      request_id: id,
      time: '2026-11-26T12:00:00.000Z',
      member: 'bob',
      team: 'payments',
      action: 'delete',
      outcome,
      upstream_attempts: 1,
    }
    const key = `v1:e:8235000000000:${id}`
    const unsigned = { ...fit(summarize(entry)), vh: await sha256(JSON.stringify(entry)) }
    const metadata = { ...unsigned, ...(await sign(signingKey, key, unsigned)) }
    return JSON.stringify({ ...expand(metadata), _kv: { key, metadata } })
  }

  const attestKey = AUDIT_ED25519_JWK as PrivateJwk
  const publicKeyFile = async () => write('public.jwk', await publicKeyOf(attestKey))

  /** The export's signed end marker, as the gateway writes it (audit/export.ts). */
  async function endMarker(lines: string[], change: Partial<ExportMarker> = {}) {
    let digest = ''
    for (const line of lines) digest = await nextLineDigest(digest, line)
    const unsigned: ExportMarker = {
      export: 2,
      complete: true,
      count: lines.length,
      chains: {},
      range: { from: '2026-11-26T00:00:00.000Z', to: '2026-11-27T00:00:00.000Z' },
      filters: {},
      limit: 100_000,
      digest,
      at: '2026-11-27T00:00:01.000Z',
      kid: (await publicKeyOf(attestKey)).kid,
      ...change,
    }
    return { unsigned, sig: await signText(attestKey, markerText(unsigned)) }
  }

  const runVerify = async (ended: string[], extra: string[] = []) => {
    const args = ['scripts/audit-verify.ts', '--file', write('audit.ndjson', ended.join('\n'))]
    const result = spawnSync(tsx, [...args, '--public-key', await publicKeyFile(), ...extra], {
      encoding: 'utf8',
      env: { ...process.env, AUDIT_SIGNING_KEY: signingKey },
    })
    return { status: result.status, stdout: result.stdout, stderr: result.stderr }
  }

  const verify = async (lines: string[], { cut = false, checkpoints = '' } = {}) => {
    const { unsigned, sig } = await endMarker(lines)
    const ended = cut ? lines : [...lines, JSON.stringify({ ...unsigned, sig })]
    return runVerify(
      ended,
      checkpoints ? ['--checkpoints', write('checkpoints.jsonl', checkpoints)] : [],
    )
  }

  it('passes a clean export', async () => {
    const { status, stdout } = await verify([
      await exportLine({ class: 'allowed', status: 200, error_codes: [] }),
    ])
    expect(status).toBe(0)
    expect(stdout).toContain('1 entries checked, 0 problems, 0 pending')
  })

  it('fails on an entry whose outcome never arrived (a crash, or a rollback to the pending version)', async () => {
    const { status, stdout } = await verify([
      await exportLine({ class: 'pending', error_codes: [] }),
    ])
    expect(status).toBe(1)
    expect(stdout).toMatch(/^pending\t/m)
  })

  it('fails on an export that was cut off', async () => {
    const line = await exportLine({ class: 'allowed', status: 200, error_codes: [] })
    const { status, stdout } = await verify([line], { cut: true })
    expect(status).toBe(1)
    expect(stdout).toMatch(/^incomplete\t/m)
  })

  it('refuses a file it cannot read in one line, exit 2, as it refuses other bad arguments', () => {
    const missing = path.join(dir, 'missing.ndjson')
    const result = spawnSync(tsx, ['scripts/audit-verify.ts', '--file', missing], {
      encoding: 'utf8',
      env: { ...process.env, AUDIT_SIGNING_KEY: signingKey },
    })
    expectRefused(
      { status: result.status, stdout: result.stdout, stderr: result.stderr },
      'audit:verify',
      `cannot read ${missing}: ENOENT: no such file or directory, open '${missing}'`,
    )
  })

  it('fails on an edited entry', async () => {
    const line = (await exportLine({ class: 'allowed', status: 200, error_codes: [] })).replace(
      '"member":"bob"',
      '"member":"eve"',
    )
    const { status, stdout } = await verify([line])
    expect(status).toBe(1)
    expect(stdout).toMatch(/^altered\t/m)
  })

  it('fails on a checkpoint the gateway did not sign: edited, or re-signed with another key', async () => {
    const line = await exportLine({ class: 'allowed', status: 200, error_codes: [] })
    const head = { chain: 'gateway', seq: 1, link: 'x'.repeat(43) }
    const genuine = await signCheckpoint(attestKey, head, new Date())
    const edited = JSON.stringify({ ...genuine, seq: 2 })
    const { status, stdout } = await verify([line], { checkpoints: edited })
    expect(status).toBe(1)
    expect(stdout).toMatch(/^checkpoint\t.*not signed by the gateway/m)
    // Whoever holds another key (the HMAC one included) can sign, but not as the pinned key.
    const other = (await crypto.subtle.exportKey(
      'jwk',
      (
        (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as {
          privateKey: Parameters<typeof crypto.subtle.exportKey>[1]
        }
      ).privateKey,
    )) as PrivateJwk
    const resigned = await signCheckpoint(other, head, new Date())
    const named = await verify([line], { checkpoints: JSON.stringify(resigned) })
    expect(named.status).toBe(1)
    expect(named.stdout).toMatch(/^checkpoint\t.*not the pinned/m)
    const posing = JSON.stringify({ ...resigned, kid: genuine.kid })
    const posed = await verify([line], { checkpoints: posing })
    expect(posed.status).toBe(1)
    expect(posed.stdout).toMatch(/^checkpoint\t.*not signed by the gateway/m)
    const kept = await verify([line], { checkpoints: JSON.stringify(genuine) })
    expect(kept.status).toBe(0)
  })

  it('prints what the export covered, and fails on a marker whose range or filters were edited', async () => {
    const line = await exportLine({ class: 'allowed', status: 200, error_codes: [] })
    const { unsigned, sig } = await endMarker([line])
    const clean = await runVerify([line, JSON.stringify({ ...unsigned, sig })])
    expect(clean.status).toBe(0)
    expect(clean.stdout).toMatch(
      /^export\t2026-11-26T00:00:00.000Z\.\.2026-11-27T00:00:00.000Z\tfilters: none\tlimit 100000\t/m,
    )
    for (const change of [
      { range: { from: '2026-01-01T00:00:00.000Z', to: unsigned.range.to } },
      { filters: { team: 'payments' } },
    ]) {
      const edited = await runVerify([line, JSON.stringify({ ...unsigned, ...change, sig })])
      expect(edited.status).toBe(1)
      expect(edited.stdout).toMatch(/^forged\t.*end marker is not signed by the gateway/m)
    }
  })

  it("fails on an entry outside the marker's range or filters, and on a range it does not cover", async () => {
    const line = await exportLine({ class: 'allowed', status: 200, error_codes: [] })
    const later = await endMarker([line], {
      range: { from: '2026-11-27T00:00:00.000Z', to: '2026-11-28T00:00:00.000Z' },
    })
    const outside = await runVerify([line, JSON.stringify({ ...later.unsigned, sig: later.sig })])
    expect(outside.status).toBe(1)
    expect(outside.stdout).toMatch(/^outside\t.*outside the export's range/m)
    const filtered = await endMarker([line], { filters: { team: 'identity' } })
    const other = await runVerify([
      line,
      JSON.stringify({ ...filtered.unsigned, sig: filtered.sig }),
    ])
    expect(other.stdout).toMatch(/^outside\t.*does not match the export's filters/m)
    const { unsigned, sig } = await endMarker([line])
    const ended = [line, JSON.stringify({ ...unsigned, sig })]
    const week = await runVerify(ended, ['--from', '2026-11-20T00:00:00Z'])
    expect(week.status).toBe(1)
    expect(week.stdout).toMatch(/^range\t.*the export covers 2026-11-26/m)
    expect((await runVerify(ended, ['--from', '2026-11-26T06:00:00Z'])).status).toBe(0)
  })

  it('still checks an export made before version 2 (HMAC marker, no range) with the HMAC key', async () => {
    const line = await exportLine({ class: 'allowed', status: 200, error_codes: [] })
    const digest = await nextLineDigest('', line)
    const unsigned = { complete: true, count: 1, chains: {}, filters: {}, digest }
    const legacy = JSON.stringify({ ...unsigned, sig: await signMarker(signingKey, unsigned) })
    expect((await runVerify([line, legacy])).status).toBe(0)
    const edited = JSON.stringify({ ...JSON.parse(legacy), count: 2 })
    expect((await runVerify([line, edited])).stdout).toMatch(/^forged\t/m)
    // It cannot say which range it covers.
    const asked = await runVerify([line, legacy], ['--to', '2026-11-27T00:00:00Z'])
    expect(asked.stdout).toMatch(/^range\t.*version 1/m)
  })

  it('refuses a private key given as the public key, a key whose kid lies, and no key at all', async () => {
    const line = await exportLine({ class: 'allowed', status: 200, error_codes: [] })
    const args = ['scripts/audit-verify.ts', '--file', write('one.ndjson', line)]
    const env = { ...process.env, AUDIT_SIGNING_KEY: signingKey }
    const secret = spawnSync(tsx, [...args, '--public-key', canonical(AUDIT_ED25519_JWK)], {
      encoding: 'utf8',
      env,
    })
    expect(secret.status).toBe(2)
    expect(secret.stderr).toContain('a private key: give the public key only')
    const lying = { ...(await publicKeyOf(attestKey)), kid: 'not-its-thumbprint' }
    const lied = spawnSync(tsx, [...args, '--public-key', JSON.stringify(lying)], {
      encoding: 'utf8',
      env,
    })
    expect(lied.status).toBe(2)
    expect(lied.stderr).toContain('is not the thumbprint of its x')
    const none = spawnSync(tsx, args, { encoding: 'utf8', env })
    expect(none.status).toBe(2)
    expect(none.stderr).toContain('--file needs --public-key <jwk> (or --url')
  })
})

describe('audit:verify --url against a served gateway', { timeout: 60_000 }, () => {
  let gateway: ServedGateway
  beforeAll(async () => {
    gateway = await serveGateway()
  }, 60_000)
  afterAll(async () => {
    await gateway?.stop()
  })

  const online = (args: string[]) =>
    spawnSync(tsx, ['scripts/audit-verify.ts', '--url', gateway.url, ...args], {
      encoding: 'utf8',
      env: { ...process.env, MTLSGW_KEY: KEYS.auditor },
    })

  /** The event keys in the log now, oldest first. */
  async function eventKeys() {
    const { keys } = await gateway.audit.list({ prefix: 'v1:e:' })
    return keys.map((k) => k.name).reverse()
  }

  /** Sends `count` whoami requests and waits until their entries are in the log. */
  async function whoami(count: number) {
    const before = (await eventKeys()).length
    for (let i = 0; i < count; i++) {
      const response = await fetch(`${gateway.url}/gateway/v1/whoami`, {
        headers: { authorization: `Bearer ${KEYS.alice}` },
      })
      expect(response.status).toBe(200)
    }
    for (let tries = 0; (await eventKeys()).length < before + count && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return (await eventKeys()).slice(before)
  }

  it(
    'passes an untouched log, then reports a deleted entry and exits 1',
    { timeout: 60_000 },
    async () => {
      // The first request of a managed gateway also records the policy's bootstrap: before `from`.
      await whoami(1)
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const from = new Date(Date.now() - 1000).toISOString()
      const written = await whoami(3)
      expect(written).toHaveLength(3)
      const clean = online(['--from', from])
      expect(clean.stderr).toBe('')
      expect(clean.stdout).toMatch(/^3 entries and 3 chain links checked, 0 problems, 0 pending$/m)
      expect(clean.status).toBe(0)

      await gateway.audit.delete(written[1]!)
      const tampered = online(['--from', from])
      expect(tampered.stdout).toMatch(
        new RegExp(
          `^deleted\t${written[1]!.replaceAll('.', '\\.')}\tentry \\d+ of gateway is not in the log`,
          'm',
        ),
      )
      expect(tampered.stdout).toMatch(/ 1 problems, 0 pending$/m)
      expect(tampered.status).toBe(1)
    },
  )

  it(
    'fails when the gateway publishes another key than the one pinned',
    { timeout: 60_000 },
    async () => {
      const pinned = online(['--public-key', JSON.stringify(await publicKeyOf(AUDIT_ED25519_JWK))])
      expect(pinned.stdout).not.toMatch(/^key\t/m)
      const other = { kty: 'OKP', crv: 'Ed25519', x: 'chOUKUGVwHrX6kdDtHVbyrehYu7Ayvvu55bH0jZEDLA' }
      const swapped = online(['--public-key', JSON.stringify(other)])
      expect(swapped.stdout).toMatch(/^key\t-\tthe gateway publishes key .* not the pinned/m)
      expect(swapped.status).toBe(1)
    },
  )
})
