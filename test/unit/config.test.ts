import { describe, expect, it } from 'vitest'
import { readConfig } from '../../src/config'
import demoPolicy from '../../demo/policy.json'
import { AUDIT_ED25519_PRIVATE_KEY } from '../support/identities'

const policy = JSON.stringify({
  version: 1,
  teams: [{ id: 'payments', accounts: ['0123456789abcdef0123456789abcdef'] }],
  members: [{ id: 'alice', team: 'payments', roles: ['developer'], key_sha256: 'a'.repeat(64) }],
})
const base = {
  CLOUDFLARE_API_TOKEN: 'token-value-that-must-stay-secret',
  POLICY: policy,
  AUDIT: { put: () => {} },
  COORDINATOR: { idFromName: () => {} },
  AUDIT_SIGNING_KEY: 'an-audit-signing-key-of-32-characters',
  // A key of this test's own: the published ones are refused in front of the real API (below).
  AUDIT_ED25519_PRIVATE_KEY:
    '{"kty":"OKP","crv":"Ed25519","x":"bCGyZDpNk7jM_gtdbRI-7oFT1SNoJHJswAl-coxdXcw","d":"_YqQJtBR-VnkwCl0An5M71cV5QHW2etoFcy0P9ffda8"}',
}

function problemsOf(env: Record<string, unknown>) {
  const result = readConfig(env)
  return result.ok ? [] : result.problems
}

describe('readConfig', () => {
  it('applies the documented defaults', () => {
    expect(readConfig(base)).toMatchObject({
      ok: true,
      config: {
        upstream: {
          baseUrl: 'https://api.cloudflare.com/client/v4',
          timeoutMs: 10_000,
          maxAttempts: 3,
        },
        maxBodyBytes: 65_536,
      },
    })
  })

  it('drops a trailing slash from the base URL', () => {
    const result = readConfig({ ...base, UPSTREAM_BASE_URL: 'https://cf.example/client/v4/' })
    expect(result.ok && result.config.upstream.baseUrl).toBe('https://cf.example/client/v4')
  })

  it.each([
    ['no token', { POLICY: policy }, 'CLOUDFLARE_API_TOKEN'],
    ['no policy', { CLOUDFLARE_API_TOKEN: 't' }, 'POLICY'],
    ['no coordinator binding', { ...base, COORDINATOR: undefined }, 'COORDINATOR'],
    [
      'a policy with an error',
      { ...base, POLICY: '{"version":1,"teams":[],"members":[]}' },
      'POLICY/teams',
    ],
    [
      'a plain-http upstream off loopback',
      { ...base, UPSTREAM_BASE_URL: 'http://cf.example/client/v4' },
      'UPSTREAM_BASE_URL',
    ],
    ['a non-numeric timeout', { ...base, UPSTREAM_TIMEOUT_MS: 'soon' }, 'UPSTREAM_TIMEOUT_MS'],
    ['too many attempts', { ...base, UPSTREAM_MAX_ATTEMPTS: '50' }, 'UPSTREAM_MAX_ATTEMPTS'],
    [
      'an Access team domain without its audience',
      { ...base, ACCESS_TEAM_DOMAIN: 'https://acme.cloudflareaccess.com' },
      'ACCESS_AUD',
    ],
    ['an Access audience without its team domain', { ...base, ACCESS_AUD: 'aud' }, 'ACCESS_TEAM'],
    [
      'a plain-http Access team domain off loopback',
      { ...base, ACCESS_TEAM_DOMAIN: 'http://acme.cloudflareaccess.com', ACCESS_AUD: 'aud' },
      'ACCESS_TEAM_DOMAIN',
    ],
    [
      'an Access team domain with a path',
      { ...base, ACCESS_TEAM_DOMAIN: 'https://acme.cloudflareaccess.com/x', ACCESS_AUD: 'aud' },
      'ACCESS_TEAM_DOMAIN',
    ],
  ])('refuses %s, naming it', (_, env, name) => {
    expect(problemsOf(env).join('\n')).toContain(name)
  })

  it('turns Cloudflare Access on with both variables, and leaves it off with neither (or empty)', () => {
    const on = readConfig({
      ...base,
      ACCESS_TEAM_DOMAIN: 'https://acme.cloudflareaccess.com/',
      ACCESS_AUD: 'a'.repeat(64),
    })
    expect(on.ok && on.config.access).toEqual({
      teamDomain: 'https://acme.cloudflareaccess.com',
      audience: 'a'.repeat(64),
    })
    const off = readConfig({ ...base, ACCESS_TEAM_DOMAIN: '', ACCESS_AUD: '' })
    expect(off.ok && off.config.access).toBeUndefined()
  })

  it('never quotes the token in a problem', () => {
    expect(problemsOf({ ...base, POLICY: 'nope' }).join('\n')).not.toContain(
      base.CLOUDFLARE_API_TOKEN,
    )
  })

  it('refuses the demo policy in front of the real Cloudflare API', () => {
    const demo = { ...base, POLICY: JSON.stringify(demoPolicy) }
    expect(problemsOf(demo).join('\n')).toContain('demo policy')
    // ...and says what to do instead.
    expect(problemsOf(demo).join('\n')).toContain('mint each member a key with `npm run key`')
    expect(readConfig({ ...demo, UPSTREAM_BASE_URL: 'http://127.0.0.1:8788/client/v4' }).ok).toBe(
      true,
    )
  })

  it('refuses the demo and test audit keys in front of the real Cloudflare API, not elsewhere', () => {
    const demoKey = JSON.stringify({
      kty: 'OKP',
      crv: 'Ed25519',
      x: 'chOUKUGVwHrX6kdDtHVbyrehYu7Ayvvu55bH0jZEDLA',
      d: 'lHcMWu8vWTdI1-3szgTgJpqDy_OMuHwZ3b-KolPmsZc',
    })
    for (const key of [demoKey, AUDIT_ED25519_PRIVATE_KEY]) {
      const published = { ...base, AUDIT_ED25519_PRIVATE_KEY: key }
      const problems = problemsOf(published).join('\n')
      expect(problems).toContain('AUDIT_ED25519_PRIVATE_KEY')
      expect(problems).not.toContain(JSON.parse(key).d)
      const local = { ...published, UPSTREAM_BASE_URL: 'http://127.0.0.1:8788/client/v4' }
      expect(readConfig(local).ok).toBe(true)
    }
  })

  it('recognises a copy of the demo policy without its demo flag by its published keys', () => {
    const copy = { ...demoPolicy, demo: false }
    expect(problemsOf({ ...base, POLICY: JSON.stringify(copy) }).join('\n')).toContain(
      'demo policy',
    )
  })
})
