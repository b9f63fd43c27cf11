/**
 * Property-based fuzzing of the whole gateway (fast-check): FUZZ_RUNS generated requests (default
 * 10,000), in batches of BATCH, sent to one isolate of the gateway (one `env` object, as
 * production has) with the emulator behind it: mutated paths and percent-encodings, methods,
 * queries, content types, malformed, deep, huge and duplicate-key JSON, mutated PEMs and private
 * keys, and forged credentials (near-miss, malformed, expired and revoked keys; forged Cloudflare
 * Access tokens: other signers, `alg: none`, HS256 keyed with the public key, wrong audience,
 * expired). About one batch in 25 also meets an injected upstream fault.
 *
 * Invariants, for every request:
 *   - the gateway answers (no exception escapes it), with an x-request-id and, except for HEAD and
 *     the OpenAPI document, the API envelope;
 *   - no 500 ever, and no 5xx unless the batch injected a fault (then only 502/503/504 with an
 *     upstream code);
 *   - no secret in the answer (upstream token, gateway keys, private keys, Access tokens);
 *   - what it sent upstream (the emulator's log, attributed request by request in order through
 *     each audit entry's `upstream_attempts`): only the mTLS API's own paths and methods, with the
 *     gateway's token and nothing of the caller's credentials; uploads only as JSON objects with a
 *     boolean `ca` and PEM `certificates`; nothing at all for a request refused before forwarding
 *     (401, 405, 413, 415, 400 with a gateway code, unknown routes), no upload or delete for a
 *     request denied by policy (403);
 *   - exactly one audit entry per request, under its request id, or (for a request nobody was
 *     authenticated for, past the flood guard's burst) counted in a flood summary: at the end the
 *     summaries' counts equal the requests without an entry;
 * and at the end the audit log verifies clean (no forged, altered or unsigned entry).
 *
 * Replay a failure with the seed it prints: FUZZ_SEED=<seed> npx vitest run --project gateway
 * test/gateway/fuzz.security.test.ts (FUZZ_RUNS must be the same; FUZZ_SHRINK=1 shrinks it).
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import fc from 'fast-check'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { AuditEntry } from '../../src/audit/entry'
import { anonymousBudget } from '../../src/audit/flood-guard'
import worker from '../../src/index'
import type { Fault, LoggedRequest } from '../kit/emulator'
import { makeCertificate, type MadeCertificate } from '../kit/certificates'
import { exampleCa, exampleKey } from '../kit/fixtures'
import { KEYS as KEY_FIXTURES } from '../fixtures/keys'
import { registerSecret } from '../support/audit'
import { emulator, seedUnowned } from '../support/emulator'
import {
  ACCOUNT,
  AUDIT_ED25519_JWK,
  AUDIT_SIGNING_KEY,
  KEYS,
  OTHER_ACCOUNT,
  UPSTREAM_TOKEN,
} from '../support/identities'

// Set from the shell (test/vitest.config.ts passes them in as bindings).
const RUNS = env.FUZZ_RUNS ? Number(env.FUZZ_RUNS) : 10_000
const BATCH = 25
const SEED = env.FUZZ_SEED
  ? Number(env.FUZZ_SEED)
  : (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0
const SHRINK = env.FUZZ_SHRINK === '1'

const ORIGIN = 'https://gateway.test'
const TEAM_DOMAIN = 'http://127.0.0.1:8788'
const AUD = 'f1a7c0de5eed0000f1a7c0de5eed0000f1a7c0de5eed0000f1a7c0de5eed0000'

// ---------------------------------------------------------------------------------------------
// The world the requests run in: certificates (some owned, some not), an Access signer.

interface World {
  env: Env
  certs: MadeCertificate[]
  cas: MadeCertificate[]
  ids: string[]
  accessToken: (claims: Record<string, unknown>, as?: 'good' | 'other') => Promise<string>
  publicJwk: JsonWebKey
  secrets: string[]
}
let world: World
const started = new Date().toISOString()

beforeAll(async () => {
  await emulator.reset()
  anonymousBudget.reset()
  const good = await generateKeyPair('RS256', { extractable: true })
  const other = await generateKeyPair('RS256', { extractable: true })
  const publicJwk = {
    ...(await exportJWK(good.publicKey)),
    kid: 'fuzz',
    alg: 'RS256',
  } as JsonWebKey
  await emulator.setAccessKeys([publicJwk as JsonWebKey])
  const policy = JSON.parse(env.POLICY) as { members: Record<string, unknown>[] }
  policy.members.push({
    id: 'dana',
    team: 'payments',
    roles: ['developer'],
    access_email: 'dana@example.com',
  })
  const isolate = {
    ...env,
    POLICY: JSON.stringify(policy),
    ACCESS_TEAM_DOMAIN: TEAM_DOMAIN,
    ACCESS_AUD: AUD,
  } as Env
  const certs = await Promise.all(Array.from({ length: 10 }, () => makeCertificate()))
  const cas = await Promise.all(Array.from({ length: 3 }, () => makeCertificate({ ca: true })))
  const ids: string[] = []
  // Certificates that exist: owned by payments and by identity, and two nobody owns.
  for (const [made, key] of [
    [certs[0]!, KEYS.alice],
    [certs[1]!, KEYS.carol],
    [cas[0]!, KEYS.bob],
  ] as const) {
    const answer = await send(isolate, {
      method: 'POST',
      path: `/client/v4/accounts/${ACCOUNT}/mtls_certificates`,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ca: made === cas[0], certificates: made.pem }),
    })
    expect(answer.status).toBe(200)
    ids.push((JSON.parse(answer.text) as { result: { id: string } }).result.id)
  }
  ids.push(await seedUnowned(), await seedUnowned())
  const accessToken = async (claims: Record<string, unknown>, as: 'good' | 'other' = 'good') =>
    registerSecret(
      await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'fuzz' })
        .sign(as === 'good' ? good.privateKey : other.privateKey),
    )
  const secrets = [
    UPSTREAM_TOKEN,
    AUDIT_SIGNING_KEY,
    AUDIT_ED25519_JWK.d,
    ...Object.values(KEYS),
    ...[...certs, ...cas].map((c) => keyLine(c.keyPem)),
    keyLine(exampleKey),
    keyLine(KEY_FIXTURES.p256Pkcs8),
    keyLine(KEY_FIXTURES.rsaPkcs1),
  ]
  world = { env: isolate, certs, cas, ids, accessToken, publicJwk, secrets }
}, 120_000)

afterAll(() => {
  anonymousBudget.clock = () => Date.now()
})

/** A line from inside a PEM private key: if it shows up in an answer, the key leaked. */
const keyLine = (pem: string) => pem.split('\n')[2]!

// ---------------------------------------------------------------------------------------------
// Requests as data, so that fast-check can print and shrink them.

interface Spec {
  method: string
  path: string
  headers: Record<string, string>
  body?: string
}

type Cred =
  | { kind: 'member'; key: keyof typeof KEYS }
  | { kind: 'none' }
  | { kind: 'raw'; authorization: string }
  | { kind: 'access'; token: AccessForgery; alsoKey: boolean }

type AccessForgery =
  'valid' | 'other-signer' | 'alg-none' | 'hs256' | 'wrong-aud' | 'expired' | 'garbage'

const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n })

const nearMiss = fc
  .tuple(fc.constantFrom(...(Object.keys(KEYS) as (keyof typeof KEYS)[])), fc.nat(), fc.nat(4))
  .map(([member, at, how]) => {
    const key = KEYS[member]
    const i = 7 + (at % (key.length - 7))
    const flipped = key[i] === 'a' ? 'b' : 'a'
    const variants = [
      key.slice(0, i) + flipped + key.slice(i + 1),
      key.toUpperCase(),
      key.slice(0, -1),
      `${key}x`,
      key.replace('mtlsgw_', 'mtlsgw-'),
    ]
    return variants[how]!
  })

const credential: fc.Arbitrary<Cred> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .constantFrom('alice', 'bob', 'carol', 'dave', 'admin', 'auditor' as const)
      .map((key) => ({ kind: 'member' as const, key })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        nearMiss.map((k) => `Bearer ${k}`),
        nearMiss.map((k) => `bearer  ${k} `),
        fc.constantFrom(
          `Basic ${btoa(`admin:${KEYS.admin}`)}`,
          `Bearer ${KEYS.expired}`,
          `Bearer ${KEYS.revoked}`,
          `Bearer ${KEYS.admin}, Bearer ${KEYS.alice}`,
          `Bearer`,
          `Token ${KEYS.admin}`,
          `Bearer mtlsgw_${'A'.repeat(43)}`,
          `Bearer ${UPSTREAM_TOKEN}`,
        ),
        fc.string({ maxLength: 80 }).map((s) => `Bearer mtlsgw_${s}`),
        fc.string({ unit: 'grapheme-ascii', maxLength: 120 }),
      )
      .map((authorization) => ({ kind: 'raw' as const, authorization })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        token: fc.constantFrom<AccessForgery>(
          'valid',
          'other-signer',
          'alg-none',
          'hs256',
          'wrong-aud',
          'expired',
          'garbage',
        ),
        alsoKey: fc.boolean(),
      })
      .map((r) => ({ kind: 'access' as const, ...r })),
  },
)

/** Segments that must survive `new URL` whatever they hold: encoded, or deliberately raw. */
const segment = fc.oneof(
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom(
    '..',
    '.',
    '',
    '%2e%2e',
    '%2F',
    '%00',
    '%zz',
    '%252F',
    '\u00e9',
    'mtls_certificates',
  ),
)

const account = fc.oneof(
  { weight: 6, arbitrary: fc.constant(ACCOUNT) },
  { weight: 1, arbitrary: fc.constant(OTHER_ACCOUNT) },
  { weight: 1, arbitrary: hex(32) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ACCOUNT.toUpperCase(),
      `${ACCOUNT}0`,
      ACCOUNT.slice(1),
      `%30${ACCOUNT.slice(1)}`,
      `${ACCOUNT}%2F..`,
      '..',
      `${ACCOUNT};x`,
    ),
  },
  { weight: 1, arbitrary: segment },
)

/** A certificate id: one that exists (by index into the world's ids), a well-formed one, or junk. */
const certificateId = fc.oneof(
  { weight: 4, arbitrary: fc.nat(20).map((i) => ({ existing: i })) },
  { weight: 2, arbitrary: fc.uuid().map((id) => ({ raw: id })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.uuid().map((id) => id.toUpperCase()),
        hex(32),
        fc.uuid().map((id) => `${id}%2F..%2F..`),
        fc.uuid().map((id) => `${id.slice(0, 8)}%2D${id.slice(9)}`),
        fc.constantFrom('..%2F..%2Fuser%2Ftokens', '%2e%2e', '*', 'x'.repeat(300), '%00'),
        segment,
      )
      .map((raw) => ({ raw })),
  },
)
type IdSpec = { existing: number } | { raw: string }

const queryPart = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('type=custom', 'ca=true', 'ca=false', 'name=x') },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.constantFrom(
            'type',
            'ca',
            'name',
            'per_page',
            'page',
            'limit',
            'cursor',
            'action',
            'x',
          ),
          fc.oneof(
            fc.constantFrom('custom', 'true', 'false', '1', '', 'gateway_managed,custom', '%00'),
            fc.string({ maxLength: 12 }).map(encodeURIComponent),
          ),
        ),
        { maxLength: 4 },
      )
      .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&')),
  },
)

type PathSpec = { template: string; account: string; id: IdSpec; query: string }

const path: fc.Arbitrary<PathSpec> = fc.record({
  template: fc.oneof(
    {
      weight: 12,
      arbitrary: fc.constantFrom(
        '/client/v4/accounts/{a}/mtls_certificates',
        '/client/v4/accounts/{a}/mtls_certificates/{id}',
        '/client/v4/accounts/{a}/mtls_certificates/{id}/associations',
      ),
    },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '/gateway/v1/whoami',
        '/gateway/v1/explain',
        '/gateway/v1/accounts/{a}/mtls_certificates/{id}/owner',
        '/gateway/v1/approvals/{id}',
        '/gateway/v1/approvals/{id}/approve',
        '/gateway/v1/audit',
        '/openapi.json',
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '/client/v4/accounts/{a}/mtls_certificates/{id}/associations/{id}',
        '/client/v4/accounts/{a}/mtls_certificates//{id}',
        '/client/v4/accounts/{a}/MTLS_CERTIFICATES',
        '/Client/V4/accounts/{a}/mtls_certificates',
        '/client/v4/accounts/{a}/mtls_certificates/{id}/../../{a}/mtls_certificates',
        '/client/v4/accounts/{a}/mtls_certificates%2F{id}',
        '/client/v4/accounts/{a}/mtls_certificates/',
        '/client/v4/user/tokens/verify',
        '/client/v4/accounts/{a}',
        '/gateway/v1/audit/export',
        '/',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`),
    },
  ),
  account,
  id: certificateId,
  query: queryPart,
})

// PEMs and keys, mutated.
type PemMutation =
  | 'none'
  | 'flip'
  | 'truncate'
  | 'crlf'
  | 'no-newlines'
  | 'drop-line'
  | 'twice'
  | 'header'
  | 'label'
  | 'with-key'
  | 'garbage-around'
  | 'example-ca'
  | 'many-begins'
  | 'begins-on-one-line'
  | 'begin-without-end'
  | 'long-base64-without-end'

const pemMutation = fc.constantFrom<PemMutation>(
  'none',
  'flip',
  'truncate',
  'crlf',
  'no-newlines',
  'drop-line',
  'twice',
  'header',
  'label',
  'with-key',
  'garbage-around',
  'example-ca',
  'many-begins',
  'begins-on-one-line',
  'begin-without-end',
  'long-base64-without-end',
)

function mutatePem(made: MadeCertificate, how: PemMutation, at: number): string {
  const pem = made.pem
  const lines = pem.trimEnd().split('\n')
  const i = 1 + (at % Math.max(1, lines.length - 2))
  switch (how) {
    case 'none':
      return pem
    case 'flip': {
      const line = lines[i]!
      const j = at % line.length
      lines[i] = line.slice(0, j) + (line[j] === 'A' ? 'B' : 'A') + line.slice(j + 1)
      return lines.join('\n')
    }
    case 'truncate':
      return pem.slice(0, at % pem.length)
    case 'crlf':
      return pem.replace(/\n/g, '\r\n')
    case 'no-newlines':
      return pem.replace(/\n/g, '')
    case 'drop-line':
      return lines.filter((_, k) => k !== i).join('\n')
    case 'twice':
      return pem + pem
    case 'header':
      return pem.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n')
    case 'label':
      return pem.replace(/CERTIFICATE/g, 'X509 CRL')
    case 'with-key':
      return pem + made.keyPem
    case 'garbage-around':
      return `subject=CN=x\n${pem}\u0000\u202e`
    case 'example-ca':
      return exampleCa
    // What made the PEM regexes quadratic (issue 19): they must be refused, and quickly.
    case 'many-begins':
      return '-----BEGIN A-----\n'.repeat(500 + (at % 500)) + pem
    case 'begins-on-one-line':
      return `${'-----BEGIN A'.repeat(800 + (at % 500))}-----\n${lines.slice(1).join('\n')}`
    case 'begin-without-end':
      return pem + '-----BEGIN CERTIFICATE-----\n'.repeat(300 + (at % 300))
    case 'long-base64-without-end':
      return `${pem}-----BEGIN CERTIFICATE-----\n${'QUFB'
        .repeat(16)
        .concat('\n')
        .repeat(150 + (at % 100))}`
  }
}

type KeyChoice =
  'none' | 'own' | 'other' | 'encrypted' | 'flipped' | 'public' | 'rsa-pkcs1' | 'junk'
const keyChoice = fc.constantFrom<KeyChoice>(
  'none',
  'own',
  'other',
  'encrypted',
  'flipped',
  'public',
  'rsa-pkcs1',
  'junk',
)

function privateKeyFor(made: MadeCertificate, other: MadeCertificate, how: KeyChoice) {
  switch (how) {
    case 'none':
      return undefined
    case 'own':
      return made.keyPem
    case 'other':
      return other.keyPem
    case 'encrypted':
      return KEY_FIXTURES.rsaEncrypted
    case 'flipped':
      return made.keyPem.replace(/[A-Z]/, (c) => (c === 'A' ? 'B' : 'A'))
    case 'public':
      return made.pem
    case 'rsa-pkcs1':
      return KEY_FIXTURES.rsaPkcs1
    case 'junk':
      return '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'
  }
}

type BodySpec =
  | { kind: 'none' }
  | {
      kind: 'upload'
      cert: number
      ca: boolean
      pem: PemMutation
      at: number
      key: KeyChoice
      name: string | null
      extra: Record<string, unknown> | null
    }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'duplicate-keys'; cert: number; order: boolean }
  | { kind: 'deep'; depth: number; array: boolean }
  | { kind: 'huge'; bytes: number }
  | { kind: 'assign'; team: string }

const body: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('upload' as const),
      cert: fc.nat(12),
      ca: fc.boolean(),
      pem: pemMutation,
      at: fc.nat(),
      key: keyChoice,
      name: fc.option(fc.string({ maxLength: 40 }), { freq: 2 }),
      extra: fc.option(
        fc.dictionary(
          fc.constantFrom('__proto__', 'constructor', 'type', 'id', 'owner', 'team', 'x'),
          fc.jsonValue({ maxDepth: 2 }),
          { maxKeys: 2 },
        ),
        { freq: 4 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.string({ maxLength: 60 }),
        fc.constantFrom(
          '{',
          '{"ca":true,',
          '{"ca":true}garbage',
          "{'ca':true}",
          '{"ca":tru}',
          '\ufeff{}',
          'null',
        ),
      )
      .map((text) => ({ kind: 'text' as const, text })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ cert: fc.nat(12), order: fc.boolean() })
      .map((r) => ({ kind: 'duplicate-keys' as const, ...r })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ depth: fc.integer({ min: 50, max: 20_000 }), array: fc.boolean() })
      .map((r) => ({ kind: 'deep' as const, ...r })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 60_000, max: 300_000 })
      .map((bytes) => ({ kind: 'huge' as const, bytes })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('payments', 'identity', 'platform', 'nobody', '', '__proto__')
      .map((team) => ({ kind: 'assign' as const, team })),
  },
)

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'text/plain',
      'text/plain; charset=utf-16',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
      'application/merge-patch+json',
      '',
      'none',
    ),
  },
)

const method = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT') },
  { weight: 1, arbitrary: fc.constantFrom('PATCH', 'HEAD', 'OPTIONS', 'delete', 'post') },
)

interface RequestSpec {
  method: string
  path: PathSpec
  cred: Cred
  body: BodySpec
  contentType: string
}

/** The methods each route answers, so that most requests get past routing to the checks. */
const ROUTE_METHODS: Record<string, string[]> = {
  '/client/v4/accounts/{a}/mtls_certificates': ['GET', 'POST'],
  '/client/v4/accounts/{a}/mtls_certificates/{id}': ['GET', 'DELETE'],
  '/client/v4/accounts/{a}/mtls_certificates/{id}/associations': ['GET'],
  '/gateway/v1/accounts/{a}/mtls_certificates/{id}/owner': ['PUT'],
  '/gateway/v1/approvals/{id}/approve': ['POST'],
}

const requestSpec: fc.Arbitrary<RequestSpec> = fc
  .record({ method, path, cred: credential, body, contentType, routed: fc.nat(9) })
  .map(({ routed, ...spec }) => {
    const methods = ROUTE_METHODS[spec.path.template]
    // Seven in ten requests to a known route use one of its methods; the rest keep theirs.
    return methods && routed < 7 ? { ...spec, method: methods[routed % methods.length]! } : spec
  })

/** A fault for a few batches; none (null) for most. */
const injected: fc.Arbitrary<(Fault & { times: number }) | null> = fc.oneof(
  { weight: 24, arbitrary: fc.constant(null) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom<Fault>(
          { kind: 'status', status: 500 },
          { kind: 'status', status: 503 },
          { kind: 'status', status: 200, code: 10013, message: 'busy' },
          { kind: 'non_json', status: 200 },
          { kind: 'non_json', status: 502 },
          { kind: 'null_result' },
          { kind: 'drop' },
          { kind: 'reset' },
        ),
        fc.integer({ min: 1, max: 4 }),
      )
      .map(([fault, times]) => ({ ...fault, times })),
  },
)

// ---------------------------------------------------------------------------------------------
// From data to a Request.

const b64url = (text: string) =>
  btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

async function forgeAccess(how: AccessForgery): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    iss: TEAM_DOMAIN,
    aud: [AUD],
    email: 'dana@example.com',
    iat: now,
    exp: now + 600,
  }
  switch (how) {
    case 'valid':
      return world.accessToken(claims)
    case 'other-signer':
      return world.accessToken(claims, 'other')
    case 'wrong-aud':
      return world.accessToken({ ...claims, aud: ['another-app'] })
    case 'expired':
      return world.accessToken({ ...claims, iat: now - 7200, exp: now - 3600 })
    case 'alg-none':
      return `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify(claims))}.`
    case 'hs256': {
      const header = b64url('{"alg":"HS256","kid":"fuzz"}')
      const payload = b64url(JSON.stringify(claims))
      const key = await crypto.subtle.importKey(
        'raw',
        new TextEncoder().encode(JSON.stringify(world.publicJwk)),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      )
      const mac = await crypto.subtle.sign(
        'HMAC',
        key,
        new TextEncoder().encode(`${header}.${payload}`),
      )
      return registerSecret(
        `${header}.${payload}.${b64url(String.fromCharCode(...new Uint8Array(mac)))}`,
      )
    }
    case 'garbage':
      return 'eyJhbGciOiJSUzI1NiJ9.e30.AAAA'
  }
}

function bodyText(spec: BodySpec): string | undefined {
  const pick = (i: number) => [...world.certs, ...world.cas][i % 13]!
  switch (spec.kind) {
    case 'none':
      return undefined
    case 'upload': {
      const made = pick(spec.cert)
      const fields: Record<string, unknown> = {
        ca: spec.ca,
        certificates: mutatePem(made, spec.pem, spec.at),
      }
      const key = privateKeyFor(made, pick(spec.cert + 1), spec.key)
      if (key !== undefined) fields.private_key = key
      if (spec.name !== null) fields.name = spec.name
      // Extra fields first, so that `__proto__` as an own key is serialised too.
      const text = JSON.stringify(fields)
      if (spec.extra === null) return text
      const extra = Object.entries(spec.extra)
        .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
        .join(',')
      return extra === '' ? text : `{${extra},${text.slice(1)}`
    }
    case 'json':
      return JSON.stringify(spec.value)
    case 'text':
      return spec.text
    case 'duplicate-keys': {
      const made = pick(spec.cert)
      const pem = JSON.stringify(made.pem)
      return spec.order
        ? `{"ca":false,"certificates":${pem},"ca":true,"certificates":"junk"}`
        : `{"certificates":"junk","ca":"yes","certificates":${pem},"ca":false}`
    }
    case 'deep':
      return spec.array
        ? '['.repeat(spec.depth) + ']'.repeat(spec.depth)
        : '{"a":'.repeat(spec.depth) + '1' + '}'.repeat(spec.depth)
    case 'huge':
      return JSON.stringify({ ca: false, certificates: 'A'.repeat(spec.bytes) })
    case 'assign':
      return JSON.stringify({ team: spec.team })
  }
}

function resolveId(id: IdSpec): string {
  if ('raw' in id) return id.raw
  return world.ids[id.existing % world.ids.length]!
}

async function build(spec: RequestSpec): Promise<{ request: Spec; presented: string[] }> {
  const headers: Record<string, string> = {}
  const presented: string[] = []
  const { cred } = spec
  if (cred.kind === 'member') headers.authorization = `Bearer ${KEYS[cred.key]}`
  if (cred.kind === 'raw') headers.authorization = cred.authorization
  if (cred.kind === 'access') {
    headers['cf-access-jwt-assertion'] = await forgeAccess(cred.token)
    if (cred.alsoKey) headers.authorization = `Bearer ${KEYS.alice}`
  }
  // What the caller presented, word by word: any long enough to be a credential must not come back
  // or travel on (shorter words, like "Bearer", are in the gateway's own messages).
  for (const value of Object.values(headers)) {
    presented.push(...value.split(/[\s,]+/).filter((word) => word.length >= 24))
  }
  const id = resolveId(spec.path.id)
  let path = spec.path.template.replaceAll('{a}', spec.path.account).replaceAll('{id}', id)
  if (path === '/gateway/v1/explain') {
    path += `?action=delete&account_id=${spec.path.account}&mtls_certificate_id=${id}`
    if (spec.path.query) path += `&${spec.path.query}`
  } else if (path === '/gateway/v1/audit' || path === '/gateway/v1/audit/export') {
    path += `?limit=3${spec.path.query ? `&${spec.path.query}` : ''}`
  } else if (spec.path.query) {
    path += `?${spec.path.query}`
  }
  const withBody = !['GET', 'HEAD'].includes(spec.method.toUpperCase())
  const text = withBody ? bodyText(spec.body) : undefined
  if (text !== undefined && spec.contentType !== 'none') headers['content-type'] = spec.contentType
  return {
    request: { method: spec.method, path, headers, ...(text !== undefined ? { body: text } : {}) },
    presented,
  }
}

interface Answer {
  status: number
  text: string
  headers: Headers
}

async function send(isolate: Env, spec: Spec, pending?: ExecutionContext[]): Promise<Answer> {
  const ctx = createExecutionContext()
  const request = new Request(`${ORIGIN}${spec.path}`, {
    method: spec.method,
    headers: spec.headers,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
  })
  const response = await worker.fetch(request, isolate, ctx)
  const text = new TextDecoder().decode(await response.arrayBuffer())
  if (pending) pending.push(ctx)
  else await waitOnExecutionContext(ctx)
  return { status: response.status, text, headers: response.headers }
}

// ---------------------------------------------------------------------------------------------
// The invariants.

const UPSTREAM_PATH =
  /^\/client\/v4\/accounts\/[0-9a-f]{32}\/mtls_certificates(\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})(\/associations)?)?$/
const UPLOAD_FIELDS = new Set(['ca', 'certificates', 'name', 'private_key'])
/** Gateway codes for a request refused before anything is forwarded. */
const refusedBeforeForwarding = (status: number, code: number | undefined) =>
  status === 401 ||
  status === 405 ||
  status === 413 ||
  status === 415 ||
  code === 7003 ||
  (status === 400 && code !== undefined && code >= 18100 && code < 18200)

function expectForwardedValid(forwarded: LoggedRequest[], presented: string[], label: string) {
  for (const up of forwarded) {
    const where = `${label}: forwarded ${up.method} ${up.path}`
    expect(['GET', 'POST', 'DELETE'], where).toContain(up.method)
    expect(up.path, where).toMatch(UPSTREAM_PATH)
    expect([ACCOUNT, OTHER_ACCOUNT], where).toContain(up.path.split('/')[4])
    expect(up.headers.authorization, where).toBe(`Bearer ${UPSTREAM_TOKEN}`)
    expect(up.headers['cf-access-jwt-assertion'], where).toBeUndefined()
    expect(up.headers.cookie, where).toBeUndefined()
    const sent = JSON.stringify(up)
    expect(sent, where).not.toMatch(/mtlsgw_/)
    for (const credential of presented) expect(sent, where).not.toContain(credential)
    if (up.method === 'POST') {
      expect(up.path, where).toMatch(/\/mtls_certificates$/)
      const parsed = JSON.parse(up.body ?? 'null') as Record<string, unknown>
      expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), where).toBe(
        true,
      )
      for (const field of Object.keys(parsed)) expect(UPLOAD_FIELDS, where).toContain(field)
      expect(typeof parsed.ca, where).toBe('boolean')
      expect(parsed.certificates, where).toMatch(/^-----BEGIN CERTIFICATE-----\r?\n/)
    } else {
      expect(up.body ?? '', where).toBe('')
    }
  }
}

function expectAnswerClean(spec: Spec, answer: Answer, presented: string[], faulted: boolean) {
  const label = `${spec.method} ${spec.path.slice(0, 200)} → ${answer.status} ${answer.text.slice(0, 300)}`
  expect(answer.headers.get('x-request-id'), label).toMatch(/^[0-9a-f-]{36}$/)
  expect(answer.status, label).not.toBe(500)
  let code: number | undefined
  const streamed = answer.status === 200 && spec.path.startsWith('/gateway/v1/audit/export')
  if (spec.method.toUpperCase() !== 'HEAD' && !spec.path.startsWith('/openapi.json') && !streamed) {
    const envelope = JSON.parse(answer.text) as { success: unknown; errors: { code: number }[] }
    expect(typeof envelope.success, label).toBe('boolean')
    expect(Array.isArray(envelope.errors), label).toBe(true)
    code = envelope.errors[0]?.code
    expect(code, label).not.toBe(18500)
  }
  if (answer.status >= 500) {
    expect(faulted, `${label}: a 5xx without an injected fault`).toBe(true)
    expect([502, 503, 504], label).toContain(answer.status)
  }
  const everything = answer.text + JSON.stringify([...answer.headers])
  for (const secret of [...world.secrets, ...presented]) {
    expect(everything.includes(secret), `${label}: ${secret.slice(0, 16)}… in the answer`).toBe(
      false,
    )
  }
  expect(everything, label).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/)
  return { label, code }
}

/** The newest event keys' names (list() returns the newest first). */
async function newestEventNames(limit = 1000): Promise<string[]> {
  const page = await env.AUDIT.list({ prefix: 'v1:e:', limit })
  return page.keys.map((k) => k.name)
}

async function allEventNames(): Promise<string[]> {
  const names: string[] = []
  let cursor: string | undefined
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.AUDIT.list({
      prefix: 'v1:e:',
      ...(cursor ? { cursor } : {}),
    })
    names.push(...page.keys.map((k) => k.name))
    cursor = page.list_complete ? undefined : page.cursor
  } while (cursor)
  return names
}

const counts = {
  requests: 0,
  batches: 0,
  faultedBatches: 0,
  withoutEntry: 0,
  byStatus: {} as Record<string, number>,
  byCode: {} as Record<string, number>,
  byCredential: {} as Record<string, number>,
  byBody: {} as Record<string, number>,
  forwarded: 0,
  sendingMs: 0,
  checkingMs: 0,
}
const bump = (table: Record<string, number>, key: string) => {
  table[key] = (table[key] ?? 0) + 1
}

async function runBatch(specs: RequestSpec[], fault: (Fault & { times: number }) | null) {
  const t0 = Date.now()
  await emulator.clearRequests()
  if (fault) await emulator.addFaults(fault)
  const pending: ExecutionContext[] = []
  const sent: { spec: Spec; answer: Answer; presented: string[]; requestId: string }[] = []
  for (const generated of specs) {
    const { request, presented } = await build(generated)
    const answer = await send(world.env, request, pending)
    sent.push({ spec: request, answer, presented, requestId: answer.headers.get('x-request-id')! })
    bump(counts.byStatus, String(answer.status))
    bump(
      counts.byCredential,
      generated.cred.kind === 'member' ? generated.cred.key : generated.cred.kind,
    )
    bump(counts.byBody, request.body === undefined ? 'none' : generated.body.kind)
  }
  await Promise.all(pending.map((ctx) => waitOnExecutionContext(ctx)))
  if (fault) await emulator.send('DELETE', '/faults')
  const log = await emulator.requests()
  counts.requests += specs.length
  counts.batches += 1
  counts.forwarded += log.length
  if (fault) counts.faultedBatches += 1

  const t1 = Date.now()
  counts.sendingMs += t1 - t0
  const names = await newestEventNames()
  let offset = 0
  for (const { spec, answer, presented, requestId } of sent) {
    const { label, code } = expectAnswerClean(spec, answer, presented, fault !== null)
    bump(counts.byCode, `${answer.status}/${code ?? '-'}`)
    const own = names.filter((name) => name.endsWith(`:${requestId}`))
    expect(own.length, `${label}: audit entries`).toBeLessThanOrEqual(1)
    let attempts = 0
    if (own.length === 1) {
      const entry = JSON.parse((await env.AUDIT.get(own[0]!))!) as AuditEntry
      expect(entry.request_id, label).toBe(requestId)
      expect(entry.outcome.status, label).toBe(answer.status)
      attempts = entry.upstream_attempts
    } else {
      // Only a request nobody was authenticated for may go unrecorded (the flood guard counts it).
      // (unknown routes, wrong methods, refused credentials, the OpenAPI document).
      if (!spec.path.startsWith('/openapi.json')) {
        expect([401, 404, 405], `${label}: no audit entry`).toContain(answer.status)
      }
      counts.withoutEntry += 1
    }
    const forwarded = log.slice(offset, offset + attempts)
    offset += attempts
    expectForwardedValid(forwarded, presented, label)
    if (refusedBeforeForwarding(answer.status, code)) expect(forwarded, label).toEqual([])
    if (answer.status === 403) {
      expect(
        forwarded.filter((f) => f.method !== 'GET'),
        label,
      ).toEqual([])
    }
    const verb = spec.method.toUpperCase()
    if (verb !== 'POST') {
      expect(
        forwarded.filter((f) => f.method === 'POST'),
        label,
      ).toEqual([])
    }
    if (verb !== 'DELETE' && !spec.path.includes('/approve')) {
      expect(
        forwarded.filter((f) => f.method === 'DELETE'),
        label,
      ).toEqual([])
    }
  }
  // Every call the emulator saw belongs to a request whose entry counted it.
  expect(offset, 'upstream calls not accounted for by any audit entry').toBe(log.length)
  counts.checkingMs += Date.now() - t1
}

/** The last number of each chain the gateway writes to (0 for one not started). */
async function chainHeads(): Promise<Record<string, number>> {
  const heads: Record<string, number> = {}
  for (const chain of [ACCOUNT, OTHER_ACCOUNT, 'gateway']) {
    const instance = env.COORDINATOR.get(env.COORDINATOR.idFromName(chain))
    heads[chain] = (await instance.auditChainEnds()).head?.seq ?? 0
  }
  return heads
}

it(`${RUNS} generated requests keep every invariant (seed ${SEED}; replay with FUZZ_SEED=${SEED})`, async () => {
  console.warn(`fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`)
  const startedMs = Date.now()
  const eventsBefore = (await allEventNames()).length
  const headsBefore = await chainHeads()
  await fc.assert(
    fc.asyncProperty(
      fc.array(requestSpec, { minLength: BATCH, maxLength: BATCH }),
      injected,
      (specs, fault) => runBatch(specs, fault),
    ),
    { seed: SEED, numRuns: Math.ceil(RUNS / BATCH), endOnFailure: !SHRINK },
  )

  // Flush the flood guard's summary: let its refill time pass, then one more request.
  anonymousBudget.clock = () => Date.now() + 24 * 3_600_000
  await send(world.env, { method: 'GET', path: '/gateway/v1/whoami', headers: {} })
  anonymousBudget.clock = () => Date.now()
  const names = await allEventNames()
  const summaries = await Promise.all(
    names.slice(0, 50).map(async (name) => JSON.parse((await env.AUDIT.get(name))!) as AuditEntry),
  )
  const suppressed = summaries
    .filter((e) => e.kind === 'suppressed' && e.time >= started)
    .reduce((sum, e) => sum + e.suppressed!.count, 0)
  expect(suppressed, 'requests without an entry, against the flood summaries').toBe(
    counts.withoutEntry,
  )
  // One entry per recorded request, plus the summaries and the flush request, nothing else.
  const summaryEntries = summaries.filter((e) => e.kind === 'suppressed' && e.time >= started)
  expect(names.length - eventsBefore).toBe(
    counts.requests - counts.withoutEntry + summaryEntries.length + 1,
  )

  // The log's signatures are intact: verify every page since the run started, as the auditor.
  const problems: unknown[] = []
  let checked = 0
  let cursor: string | null = null
  do {
    const query = new URLSearchParams({
      from: started,
      limit: '200',
      ...(cursor ? { cursor } : {}),
    })
    const answer = await send(world.env, {
      method: 'GET',
      path: `/gateway/v1/audit/verify?${query}`,
      headers: { authorization: `Bearer ${KEYS.auditor}` },
    })
    expect(answer.status, answer.text).toBe(200)
    const report = JSON.parse(answer.text) as {
      result: { checked: number; problems: unknown[]; cursor: string | null }
    }
    problems.push(...report.result.problems)
    checked += report.result.checked
    cursor = report.result.cursor
  } while (cursor)
  expect(problems).toEqual([])
  expect(checked).toBeGreaterThanOrEqual(counts.requests - counts.withoutEntry)

  // The chains of the policy's accounts and of the gateway are intact from where they stood before
  // the run, in number order.
  let chained = 0
  for (const [chain, before] of Object.entries(headsBefore)) {
    for (let next: number | null = before + 1; next !== null;) {
      const query = new URLSearchParams({ chain, from_seq: String(next), limit: '200' })
      const answer = await send(world.env, {
        method: 'GET',
        path: `/gateway/v1/audit/verify/chain?${query}`,
        headers: { authorization: `Bearer ${KEYS.auditor}` },
      })
      expect(answer.status, answer.text).toBe(200)
      const report = JSON.parse(answer.text) as {
        result: { checked: number; problems: unknown[]; next_seq: number | null }
      }
      expect(report.result.problems, `chain ${chain}`).toEqual([])
      chained += report.result.checked
      next = report.result.next_seq
    }
  }
  // (Requests naming another account chain there; these three hold most of the run.)
  expect(chained).toBeGreaterThan(0)

  console.warn(
    `fuzz: ${counts.requests} requests in ${counts.batches} batches (${counts.faultedBatches} with a fault), ` +
      `${counts.forwarded} forwarded, ${counts.withoutEntry} counted by the flood guard, ` +
      `${checked} entries verified, ${Math.round((Date.now() - startedMs) / 1000)} s ` +
      `(sending ${Math.round(counts.sendingMs / 1000)} s, checking ${Math.round(counts.checkingMs / 1000)} s); ` +
      `status ${JSON.stringify(counts.byStatus)}; codes ${JSON.stringify(counts.byCode)}; credentials ${JSON.stringify(counts.byCredential)}; ` +
      `bodies ${JSON.stringify(counts.byBody)}`,
  )
}, 600_000)
