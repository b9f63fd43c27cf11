/**
 * `npm run policy -- <command>` (issue 20): the policy's review flow from a shell, run as an
 * operator runs it (tsx, a process each) against a served gateway in managed mode. The commands
 * share one gateway and run in order: pull, diff, propose (widening: pending), what-if, apply as
 * the second admin; then a narrowing proposal that applies at once, and the refusals.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KEYS } from '../support/identities'
import { serveGateway, type ServedGateway } from './served-gateway'

const tsx = path.resolve('node_modules/.bin/tsx')
const dir = mkdtempSync(path.join(tmpdir(), 'mtls-gateway-policy-cli-'))

/** The tool with MTLSGW_KEY set to `key` (or unset) and no MTLSGW_URL inherited. */
function policy(args: string[], key: string | undefined, url?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.MTLSGW_KEY
  delete env.MTLSGW_URL
  if (key !== undefined) env.MTLSGW_KEY = key
  if (url !== undefined) env.MTLSGW_URL = url
  const result = spawnSync(tsx, ['scripts/policy-cli.ts', ...args], { encoding: 'utf8', env })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('npm run policy -- --help', () => {
  it('prints the tool usage, every command and where the key comes from, exit 0', () => {
    const { status, stdout, stderr } = policy(['--help'], undefined)
    expect([status, stderr]).toEqual([0, ''])
    expect(stdout).toMatch(/^usage: npm run policy -- <pull\|diff\|propose\|what-if\|apply>/)
    for (const name of ['pull', 'diff', 'propose', 'what-if', 'apply'])
      expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'))
    expect(stdout).toContain('MTLSGW_KEY only')
    expect(stdout).toContain('shell')
  })

  it.each(['pull', 'diff', 'propose', 'what-if', 'apply'])(
    'prints the usage of %s with --help, whatever else is on the line',
    (name) => {
      const { status, stdout, stderr } = policy([name, '--no-such-option', '--help'], undefined)
      expect([status, stderr]).toEqual([0, ''])
      expect(stdout).toMatch(new RegExp(`^usage: npm run policy -- ${name} `))
      expect(stdout).toContain('-h, --help')
      expect(stdout).toContain('MTLSGW_KEY only')
      expect(stdout).toContain('Exit status: 0 when')
    },
  )

  it('refuses an unknown command and a missing operand in one line with the usage, exit 2', () => {
    const unknown = policy(['push'], KEYS.admin, 'http://127.0.0.1:9')
    expect(unknown.status).toBe(2)
    expect(unknown.stderr.split('\n')[0]).toBe("policy: unknown command 'push'")
    const missing = policy(['apply'], KEYS.admin, 'http://127.0.0.1:9')
    expect(missing.status).toBe(2)
    expect(missing.stderr.split('\n')[0]).toBe('policy apply: give <proposal-id> (got 0 operands)')
    expect(missing.stderr.split('\n')[1]).toMatch(/^usage: npm run policy -- apply /)
  })
})

describe('npm run policy against a served gateway', { timeout: 120_000 }, () => {
  let gateway: ServedGateway
  beforeAll(async () => {
    gateway = await serveGateway()
  }, 60_000)
  afterAll(async () => {
    await gateway?.stop()
  })

  const file = path.join(dir, 'policy.json')
  const as = (key: string, args: string[]) => policy([...args, '--gateway', gateway.url], key)
  /**
   * A GET of the gateway from the test itself. Once more on a closed socket: the spawned tools
   * block this process for seconds, long enough for the server to drop the pooled connection.
   */
  const get = (path: string, key: string) => {
    const once = () =>
      fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } })
    return once().catch(once)
  }
  let pulledBase = ''
  let pending = ''

  it('pull writes the current document, canonical and indented, and its revision id', () => {
    const pulled = as(KEYS.admin, ['pull', '--out', file])
    expect(pulled.stderr).toBe('')
    expect(pulled.status).toBe(0)
    pulledBase = readFileSync(`${file}.base`, 'utf8').trim()
    expect(pulledBase).toMatch(/^[0-9a-f]{64}$/)
    expect(pulled.stdout).toContain(`revision ${pulledBase} (managed)`)
    const text = readFileSync(file, 'utf8')
    const document = JSON.parse(text) as { members: { id: string }[] }
    expect(document.members.map((m) => m.id)).toContain('alice')
    expect(text).toBe(`${JSON.stringify(document, null, 2)}\n`)
    // Keys sorted at every level: the document as the revision id is computed over it.
    expect(Object.keys(document)).toEqual([...Object.keys(document)].sort())

    // To stdout: the document alone (it pipes into a file), the revision on stderr.
    const piped = policy(['pull'], KEYS.admin, gateway.url)
    expect(piped.status).toBe(0)
    expect(piped.stdout).toBe(text)
    expect(piped.stderr).toBe(`revision ${pulledBase} (managed)\n`)
  })

  /**
   * The pulled document with developers allowed to delete their team's certificates and to read
   * the audit log (which alice was refused: the what-if sees that decision change).
   */
  function widened() {
    const document = JSON.parse(readFileSync(file, 'utf8')) as { rules: unknown[] }
    document.rules.push(
      {
        id: 'developers-delete-own',
        description: 'Developers delete their team certificates',
        effect: 'allow',
        actions: ['delete'],
        subjects: { roles: ['developer'] },
      },
      {
        id: 'developers-read-audit',
        description: 'Developers read the audit log',
        effect: 'allow',
        actions: ['audit'],
        subjects: { roles: ['developer'] },
        conditions: { owner: 'any' },
      },
    )
    writeFileSync(file, JSON.stringify(document, null, 2))
  }

  it('diff shows the new rule, the access it grants and that it widens, filing nothing', async () => {
    // A decision the proposal will change: alice (a developer) refused the audit log, recorded
    // (the entry is written after the answer: wait until it is in the log).
    const events = async () => (await gateway.audit.list({ prefix: 'v1:e:' })).keys.length
    const before = await events()
    const refused = await get('/gateway/v1/audit', KEYS.alice)
    expect(refused.status).toBe(403)
    for (let tries = 0; (await events()) === before && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    widened()
    const diff = as(KEYS.admin, ['diff', file])
    expect(diff.stderr).toBe('')
    expect(diff.status).toBe(0)
    expect(diff.stdout).toContain(
      `against revision ${pulledBase}: teams +0 -0 ~0; members +0 -0 ~0; rules +2 -0 ~0`,
    )
    expect(diff.stdout).toMatch(/^ {2}\+ rule developers-delete-own$/m)
    expect(diff.stdout).toMatch(/^ {2}newly_allowed: payments\/developer delete \(own/m)
    expect(diff.stdout).toContain('widening (needs a second admin):')
    // Nothing was filed: no proposal exists yet.
    const listed = await get('/gateway/v1/policy/proposals', KEYS.admin)
    expect(((await listed.json()) as { result: unknown[] }).result).toEqual([])
  })

  it('propose files a widening change as pending, with its id and the diff summary', () => {
    const proposed = as(KEYS.admin, ['propose', file, '--reason', 'developers clean up their own'])
    expect(proposed.stderr).toBe('')
    expect(proposed.status).toBe(0)
    const [, id] = /^proposal ([0-9a-f-]{36}): pending$/m.exec(proposed.stdout) ?? []
    expect(id).toBeDefined()
    pending = id!
    expect(proposed.stdout).toContain(`npm run policy -- apply ${pending}`)
    expect(proposed.stdout).toMatch(/rules \+2 -0 ~0; .*newly_allowed \d+.*; widening$/m)
  })

  it('what-if replays the log under the proposal and prints its summary', () => {
    const replay = as(KEYS.admin, ['what-if', pending, '--since', '2026-01-01'])
    expect(replay.stderr).toBe('')
    expect(replay.status).toBe(0)
    expect(replay.stdout).toMatch(
      new RegExp(`^proposal ${pending}: 2026-01-01T00:00:00.000Z to `, 'm'),
    )
    // Alice's refusal of the audit log is the one decision it changes (the admins' pulls are
    // allowed under both).
    expect(replay.stdout).toMatch(/^\d+ entries, \d+ replayed, \d+ unchanged, 1 would change$/m)
    expect(replay.stdout).toMatch(/^ {2}payments audit: deny -> allow x1 \(e\.g\. \S+\)$/m)
  })

  it('apply is refused to the proposal author, then applies it as the second admin', () => {
    const self = as(KEYS.admin, ['apply', pending])
    expect(self.status).toBe(1)
    expect(self.stderr).toMatch(/^policy apply: 403 18354: /m)

    const applied = as(KEYS.admin2, ['apply', pending])
    expect(applied.stderr).toBe('')
    expect(applied.status).toBe(0)
    expect(applied.stdout).toMatch(new RegExp(`^proposal ${pending}: applied$`, 'm'))
    const [, revision] = /^current revision: ([0-9a-f]{64})$/m.exec(applied.stdout) ?? []
    expect(revision).not.toBe(pulledBase)
    const after = policy(['pull'], KEYS.admin, gateway.url)
    expect(after.stderr).toBe(`revision ${revision} (managed)\n`)
    expect(after.stdout).toContain('developers-delete-own')
  })

  it('propose on the base pulled before that change is refused as stale, exit 1', () => {
    const stale = as(KEYS.admin, ['propose', file, '--reason', 'again'])
    expect(stale.stdout).toBe('')
    expect(stale.status).toBe(1)
    expect(stale.stderr).toMatch(/^policy propose: 409 18351: The base revision is no longer/)
  })

  it('a narrowing proposal on the current base applies at once', () => {
    const fresh = as(KEYS.admin, ['pull', '--out', file])
    expect(fresh.status).toBe(0)
    const document = JSON.parse(readFileSync(file, 'utf8')) as { rules: { id: string }[] }
    document.rules = document.rules.filter((rule) => rule.id !== 'developers-delete-own')
    writeFileSync(file, JSON.stringify(document))
    const narrowed = as(KEYS.admin, ['propose', file, '--reason', 'back as it was'])
    expect(narrowed.stderr).toBe('')
    expect(narrowed.status).toBe(0)
    expect(narrowed.stdout).toMatch(/^proposal [0-9a-f-]{36}: applied$/m)
    expect(narrowed.stdout).toContain('not widening: applies at once')
    expect(narrowed.stdout).toMatch(/^ {2}newly_denied: payments\/developer delete/m)
  })

  it('an unknown proposal: what-if and apply print the 404 code and exit 1', () => {
    const unknown = '00000000-0000-4000-8000-000000000000'
    for (const args of [
      ['what-if', unknown],
      ['apply', unknown],
    ]) {
      const answer = as(KEYS.admin, args)
      expect(answer.stdout).toBe('')
      expect(answer.status).toBe(1)
      expect(answer.stderr).toBe(`policy ${args[0]}: 404 18352: No such policy proposal\n`)
    }
  })

  it('without MTLSGW_KEY, or with it refused, nothing is asked or printed but the problem', () => {
    const none = policy(['pull', '--out', path.join(dir, 'none.json')], undefined, gateway.url)
    expect(none.status).toBe(2)
    expect(none.stderr.split('\n')[0]).toBe(
      'policy pull: set MTLSGW_KEY to your gateway key (never an argument)',
    )
    expect(existsSync(path.join(dir, 'none.json'))).toBe(false)
    // A member the policy does not allow `policy`: the gateway's refusal, its code, exit 1.
    const developer = as(KEYS.alice, ['pull'])
    expect(developer.status).toBe(1)
    expect(developer.stdout).toBe('')
    expect(developer.stderr).toMatch(/^policy pull: 403 \d+: /)
  })

  it('diff names each problem of an invalid file by its pointer and exits 1', () => {
    const bad = path.join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ version: 1, teams: [], members: [], rules: [{}] }))
    const diff = as(KEYS.admin, ['diff', bad])
    expect(diff.status).toBe(1)
    expect(diff.stderr).toMatch(new RegExp(`^${bad.replaceAll('.', '\\.')}#/rules/0`, 'm'))
  })
})

describe('npm run policy against a pinned gateway', { timeout: 120_000 }, () => {
  let gateway: ServedGateway
  beforeAll(async () => {
    gateway = await serveGateway({ POLICY_MODE: 'pinned' })
  }, 60_000)
  afterAll(async () => {
    await gateway?.stop()
  })

  it('pulls and diffs the secret, and propose answers that the policy is pinned', () => {
    const file = path.join(dir, 'pinned.json')
    const as = (args: string[]) => policy([...args, '--gateway', gateway.url], KEYS.admin)
    const pulled = as(['pull', '--out', file])
    expect(pulled.status).toBe(0)
    expect(pulled.stdout).toMatch(/: revision [0-9a-f]{64} \(pinned\);/)

    const document = JSON.parse(readFileSync(file, 'utf8')) as { members: { id: string }[] }
    document.members = document.members.filter((member) => member.id !== 'alice')
    writeFileSync(file, JSON.stringify(document))
    const diff = as(['diff', file])
    expect(diff.status).toBe(0)
    expect(diff.stdout).toMatch(/^ {2}- member alice$/m)
    expect(diff.stdout).toContain('not widening: applies at once')

    const proposed = as(['propose', file, '--reason', 'alice left'])
    expect(proposed.status).toBe(1)
    expect(proposed.stderr).toMatch(/^policy propose: 409 18350: The policy is pinned/)
  })
})
