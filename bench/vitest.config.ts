/**
 * `npm run bench`: the audit query benchmark, inside workerd with a local KV namespace, the way the
 * gateway's tests run (no emulator: the audit API never calls the upstream). Not part of `npm test`.
 */
import { createHash } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineProject } from 'vitest/config'
import {
  AUDIT_SIGNING_KEY,
  UPSTREAM_BASE_URL,
  UPSTREAM_TOKEN,
  buildPolicy,
} from '../test/support/identities.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex')

export default defineProject({
  plugins: [
    cloudflareTest({
      main: path.join(root, 'src/index.ts'),
      wrangler: { configPath: path.join(root, 'wrangler.toml') },
      miniflare: {
        bindings: {
          CLOUDFLARE_API_TOKEN: UPSTREAM_TOKEN,
          POLICY: JSON.stringify(buildPolicy(sha256)),
          UPSTREAM_BASE_URL,
          AUDIT_SIGNING_KEY,
        },
      },
    }),
  ],
  test: {
    name: 'bench',
    include: ['bench/**/*.bench.ts'],
    root,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
})
