/**
 * The teams, members, keys and rules the test suite runs with. Plain data, shared by
 * test/vitest.config.ts (which hashes the keys into the POLICY binding, in Node) and by the tests
 * (which present the keys, or build policy variants). These keys exist only in tests.
 */
export const ACCOUNT = '0123456789abcdef0123456789abcdef'
export const OTHER_ACCOUNT = 'fedcba9876543210fedcba9876543210'

/** The token the emulator accepts and the gateway holds: it must never reach a caller. */
export const UPSTREAM_TOKEN = 'test-upstream-token-0f3c9a1e7b2d4c68'
export const EMULATOR_CONTROL_SECRET = 'test-emulator-control-secret'
/** Signs the audit entries the suite writes (test/audit/). */
export const AUDIT_SIGNING_KEY = 'test-audit-signing-key-5d1e8f2a9c4b7e60'
/**
 * Signs checkpoints and export markers in the suite (AUDIT_ED25519_PRIVATE_KEY, a private JWK).
 * Published here, so the gateway refuses it in front of the real Cloudflare API (policy/demo.ts).
 */
export const AUDIT_ED25519_JWK = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: 'zbJC-_z_p072ZcFTQE9DNhtUEt9TVZWS6BEZLbUP4ws',
  d: 'ZAE5ztkONAwrB_If01zKKUdpDBNZjkLn3KkVAHysZ-Y',
} as const
export const AUDIT_ED25519_PRIVATE_KEY = JSON.stringify(AUDIT_ED25519_JWK)
/** Where the gateway believes the upstream is; outboundService routes it to the emulator. */
export const UPSTREAM_BASE_URL = 'http://127.0.0.1:8788/client/v4'

const key = (name: string) => `mtlsgw_${`TEST_${name}_`.padEnd(43, 'q')}`

export const KEYS = {
  alice: key('payments_alice'),
  bob: key('payments_bob'),
  carol: key('identity_carol'),
  dave: key('identity_dave'),
  admin: key('platform_admin'),
  admin2: key('platform_admin2'),
  auditor: key('platform_auditor'),
  expired: key('payments_expired'),
  revoked: key('payments_revoked'),
} as const

export const TEAMS = [
  { id: 'payments', accounts: [ACCOUNT] },
  { id: 'identity', accounts: [ACCOUNT] },
  { id: 'platform', accounts: [ACCOUNT, OTHER_ACCOUNT] },
]

/** Members without their hashes; `buildPolicy` adds them. */
export const MEMBERS = [
  { id: 'alice', team: 'payments', roles: ['developer'], key: KEYS.alice },
  { id: 'bob', team: 'payments', roles: ['lead'], key: KEYS.bob },
  { id: 'carol', team: 'identity', roles: ['developer'], key: KEYS.carol },
  { id: 'dave', team: 'identity', roles: ['lead'], key: KEYS.dave },
  { id: 'admin', team: 'platform', roles: ['admin'], key: KEYS.admin },
  { id: 'admin2', team: 'platform', roles: ['admin'], key: KEYS.admin2 },
  { id: 'auditor', team: 'platform', roles: ['auditor'], key: KEYS.auditor },
  {
    id: 'expired',
    team: 'payments',
    roles: ['developer'],
    key: KEYS.expired,
    expires_at: '2020-01-01T00:00:00Z',
  },
  { id: 'revoked', team: 'payments', roles: ['developer'], key: KEYS.revoked, revoked: true },
]

/** The suite's rules: teams work on their own certificates, leads delete, admins do anything. */
export const RULES = [
  {
    id: 'teams-read-own',
    description: 'Developers and leads see their own team certificates',
    effect: 'allow',
    actions: ['list', 'get', 'associations'],
    subjects: { roles: ['developer', 'lead'] },
  },
  {
    id: 'teams-upload',
    description: 'Developers and leads upload for their team',
    effect: 'allow',
    actions: ['upload'],
    subjects: { roles: ['developer', 'lead'] },
  },
  {
    id: 'leads-delete-own',
    description: 'Only leads delete, and only their team certificates',
    effect: 'allow',
    actions: ['delete'],
    subjects: { roles: ['lead'] },
  },
  {
    id: 'ca-delete-needs-admin',
    description: 'A lead deleting a CA needs an admin to approve',
    effect: 'allow',
    actions: ['delete'],
    subjects: { roles: ['lead'] },
    conditions: { ca: true },
    approval: { roles: ['admin'], ttl_minutes: 30 },
  },
  {
    id: 'admins-everything',
    description: 'Admins act on every certificate of their accounts, owned or not',
    effect: 'allow',
    actions: ['*'],
    subjects: { roles: ['admin'] },
    conditions: { owner: 'any' },
  },
  {
    id: 'auditors-read-audit',
    description: 'Auditors read the audit log',
    effect: 'allow',
    actions: ['audit'],
    subjects: { roles: ['auditor'] },
    conditions: { owner: 'any' },
  },
  // review-console (issue 22): the auditor's inventory, read-only, as in demo/policy.json.
  {
    id: 'auditors-read-inventory',
    description: 'Auditors see every certificate, read-only',
    effect: 'allow',
    actions: ['list', 'get'],
    subjects: { roles: ['auditor'] },
    conditions: { owner: 'any' },
  },
]

export function buildPolicy(sha256: (key: string) => string, rules: unknown[] = RULES) {
  return {
    version: 1,
    teams: TEAMS,
    members: MEMBERS.map(({ key: memberKey, ...member }) => ({
      ...member,
      key_sha256: sha256(memberKey),
    })),
    rules,
    // Far above what the suite sends: the budget's own tests set theirs (test/gateway/budget.test.ts),
    // and so do the member rate's (test/audit/member-flood.test.ts); the suite is a flood by nature.
    budget: { upstream_requests: 1_000_000 },
    limits: { member_requests_per_minute: 100_000 },
    // Issue 21: the suite's tests change the emulator behind the gateway's back and count its
    // calls, each read expecting the upstream's word: the snapshot is off for them, and on in
    // test/gateway/snapshot.test.ts, which sets its own.
    snapshot: { max_age_seconds: 0 },
  }
}
