/** `npm run policy:check`, `npm run key` and `npm run audit:verify`, run as an operator runs them. */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { expand, fit, summarize, type AuditEntry } from '../../src/audit/entry'
import { signCheckpoint } from '../../src/audit/checkpoint'
import { nextLineDigest, sha256, sign, signMarker } from '../../src/audit/signing'

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
    expect(stdout).toContain('valid: 3 teams, 5 members, 7 rules (1 in shadow mode)')
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

describe('audit:verify on an export', () => {
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

  /** The export's signed end marker, as the gateway writes it (audit/export.ts). */
  async function endMarker(lines: string[]) {
    let digest = ''
    for (const line of lines) digest = await nextLineDigest(digest, line)
    const unsigned = { complete: true, count: lines.length, chains: {}, filters: {}, digest }
    return JSON.stringify({ ...unsigned, sig: await signMarker(signingKey, unsigned) })
  }

  const verify = async (lines: string[], { cut = false, checkpoints = '' } = {}) => {
    const ended = cut ? lines : [...lines, await endMarker(lines)]
    const args = ['scripts/audit-verify.ts', '--file', write('audit.ndjson', ended.join('\n'))]
    if (checkpoints) args.push('--checkpoints', write('checkpoints.jsonl', checkpoints))
    const result = spawnSync(tsx, args, {
      encoding: 'utf8',
      env: { ...process.env, AUDIT_SIGNING_KEY: signingKey },
    })
    return { status: result.status, stdout: result.stdout }
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

  it('fails on a checkpoint the gateway did not sign', async () => {
    const line = await exportLine({ class: 'allowed', status: 200, error_codes: [] })
    const genuine = await signCheckpoint(
      signingKey,
      { chain: 'gateway', seq: 1, link: 'x'.repeat(43) },
      new Date(),
    )
    const forged = JSON.stringify({ ...genuine, seq: 2 })
    const { status, stdout } = await verify([line], { checkpoints: forged })
    expect(status).toBe(1)
    expect(stdout).toMatch(/^checkpoint\t.*not signed by the gateway/m)
    const kept = await verify([line], { checkpoints: JSON.stringify(genuine) })
    expect(kept.status).toBe(0)
  })
})
