/** `npm run policy:check` and `npm run key`, run as an operator runs them. */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

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

  it('refuses a file that is not JSON, and a missing file', () => {
    expect(run('policy-check', [write('not.json', '{')]).status).toBe(1)
    expect(run('policy-check', [path.join(dir, 'missing.json')]).status).toBe(1)
    expect(run('policy-check', []).status).toBe(2)
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
    expect(run('mint-key', ['--member', 'e']).status).toBe(2)
    expect(
      run('mint-key', ['--member', 'e', '--team', 't', '--role', 'r', '--expires', 'soon']).status,
    ).toBe(2)
  })
})
