/**
 * Issue 23's closing note: one notice's whole path, step by step, with the time each took. A
 * certificate 10 days from expiry (uploaded through the gateway), then one run of the expiry watch
 * as the cron runs it (lifecycle/expiry-cron.ts `expiryWatchDeps`, the real coordinator, the
 * emulator's webhook receiver), with each port wrapped in a timer: the certificate list (the
 * snapshot, cold here), the owners (ledger), the coordinator's queue (the exactly-once claim of the
 * row), its lease of what is due, the delivery to the receiver, the settle, and the chain entry.
 * Then the receiver's copy is checked against the chain entry (same `webhook-id`).
 *
 * Run alone: `npx vitest run -c bench/vitest.config.ts bench/notice-path.bench.ts`. It prints a
 * table; it asserts the path happened, never how fast (speed is reported, not tested). workerd's
 * clock advances only across I/O, which is what every step here is.
 */
import { env } from 'cloudflare:test'
import { expect, it } from 'vitest'
import { expiryWatchDeps } from '../src/lifecycle/expiry-cron'
import { watchExpiry, type WatchDeps } from '../src/lifecycle/watch'
import { deliver } from '../src/lifecycle/channels'
import { makeCertificate } from '../test/kit/certificates'
import { auditEntries } from '../test/support/audit'
import { emulator } from '../test/support/emulator'
import { uploadedId } from '../test/support/gateway'
import { KEYS } from '../test/support/identities'
import { policyWith } from '../test/support/policies'

const DAY = 86_400_000
const CHANNELS = JSON.stringify({
  'payments-hook': {
    kind: 'webhook',
    url: 'https://hooks.test/__receiver/payments',
    secret: `whsec_${btoa('notice-path-bench-webhook-secret!')}`,
  },
})

const steps: { step: string; account: string; ms: number }[] = []

/** `fn` wrapped: each call's time is a row of the table. */
function timed<A extends unknown[], R>(step: string, fn: (...args: A) => Promise<R>) {
  return async (...args: A): Promise<R> => {
    const start = performance.now()
    try {
      return await fn(...args)
    } finally {
      const account = typeof args[0] === 'string' ? args[0].slice(0, 8) : '-'
      steps.push({ step, account, ms: performance.now() - start })
    }
  }
}

it('one notice, from the job to the chain', async () => {
  await emulator.reset()
  const notAfter = new Date(Date.now() + 10 * DAY)
  const made = await makeCertificate({ ca: false, notAfter })
  const id = await uploadedId({ certificates: made.pem }, { key: KEYS.alice })

  const policy = JSON.parse(await policyWith()) as Record<string, unknown>
  policy.snapshot = { max_age_seconds: 60 }
  policy.lifecycle = { teams: { payments: { channels: ['payments-hook'] } } }
  const watchEnv = { ...env, POLICY: JSON.stringify(policy), LIFECYCLE_CHANNELS: CHANNELS }
  const { auditLog: _drift, ...real } = expiryWatchDeps(watchEnv)
  const n = real.notices
  const deps: WatchDeps = {
    ...real,
    source: { list: timed('1 job: certificate list (snapshot, cold)', (a) => real.source.list(a)) },
    owners: timed('2 job: owners (ledger)', real.owners),
    notices: {
      ...n,
      list: timed('3 coordinator: notices and acks', n.list),
      queue: timed('4 coordinator: queue (exactly-once claim of the row)', n.queue),
      claim: timed('5 coordinator: lease what is due', n.claim),
      settle: timed('7 coordinator: settle the attempt', n.settle),
    },
    send: timed('6 delivery: signed POST to the webhook receiver', deliver),
    record: timed('8 chain: the notice entry (signed, chained)', real.record),
  }
  const start = performance.now()
  const report = await watchExpiry(deps, Date.now())
  const total = performance.now() - start
  expect(report).toMatchObject({ queued: 1, delivered: 1, problems: [] })

  const received = (await emulator.deliveries()).filter((d) => d.body.includes(id))
  expect(received).toHaveLength(1)
  const entry = (await auditEntries()).find((e) => e.lifecycle?.certificate_id === id)
  expect(entry?.lifecycle?.notice_id).toBe(received[0]!.headers['webhook-id'])
  expect(entry?.chain).toBeDefined()

  // In call order: every account of the policy is read; only the one with the notice sends.
  const rows = steps.map((s) => `| ${s.step} | ${s.account} | ${s.ms.toFixed(1)} |`)
  console.log(
    [
      '| step | account | ms |',
      '| --- | --- | --- |',
      ...rows,
      `| the whole run (${real.accounts.length} accounts, one certificate at a horizon) | | ${total.toFixed(1)} |`,
      `| receiver got webhook-id ${received[0]!.headers['webhook-id']}; chain entry seq ${entry!.seq} | | |`,
    ].join('\n'),
  )
})
