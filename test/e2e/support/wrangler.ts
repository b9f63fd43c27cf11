/**
 * wrangler's own commands, as a team would run them against the gateway: the pinned wrangler
 * binary with only CLOUDFLARE_API_BASE_URL, CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID set.
 *
 * Non-interactive by construction: stdin is not a terminal, so wrangler's delete confirmation
 * takes its fallback ("yes") and says so. The banner is hidden because printing it makes wrangler
 * look up its latest version on the npm registry first. It runs in an empty folder so that no
 * wrangler.toml (the gateway's own, in the repository) changes what it does.
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from '../../../scripts/dev-servers.mjs'
import { ACCOUNT, e2e, type Target } from './context'
import { run, type Run } from './processes'

const WRANGLER = path.join(ROOT, 'node_modules/.bin/wrangler')

export async function wrangler(target: Target, token: string, args: string[]): Promise<Run> {
  const cwd = path.join(e2e().workDir, 'wrangler-cwd')
  mkdirSync(cwd, { recursive: true })
  return run(WRANGLER, args, {
    cwd,
    timeoutMs: 30_000,
    env: {
      CLOUDFLARE_API_BASE_URL: target.apiBase,
      CLOUDFLARE_API_TOKEN: token,
      CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
      CLOUDFLARE_API_KEY: undefined,
      CLOUDFLARE_EMAIL: undefined,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_HIDE_BANNER: 'true',
      WRANGLER_LOG_PATH: path.join(e2e().workDir, 'wrangler-logs'),
      FORCE_COLOR: '0',
    },
  })
}

/** The certificates a `list` printed: each block starts with `ID:`. */
export function listed(output: string): { id: string; name?: string; ca: boolean }[] {
  return output
    .split(/^(?=ID: )/m)
    .filter((block) => block.startsWith('ID: '))
    .map((block) => ({
      id: /^ID: (\S+)/.exec(block)![1]!,
      ...(/^Name: (.+)$/m.test(block) ? { name: /^Name: (.+)$/m.exec(block)![1] } : {}),
      ca: /^CA: true$/m.test(block),
    }))
}

/** The id an upload printed (`ID: …`). */
export function uploadedId(output: string): string | undefined {
  return /^ID: (\S+)$/m.exec(output)?.[1]
}
