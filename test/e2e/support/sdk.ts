/** Runs steps of the official SDK in its own process (clients/sdk-driver.mjs) and reads the outcomes. */
import path from 'node:path'
import { ROOT } from '../../../scripts/dev-servers.mjs'
import { expectSuccess, explained, run, type Run } from './processes'
import type { Target } from './context'

export interface SdkStep {
  token: string
  call: 'create' | 'list' | 'get' | 'delete' | 'associations'
  args: Record<string, unknown>
  /** Use the id of this earlier step's result. */
  idFrom?: number
}

export interface SdkError {
  /** The SDK's error class: BadRequestError, PermissionDeniedError, NotFoundError, … */
  class: string
  isAPIError: boolean
  status: number | null
  message: string
  errors: { code: number; message: string; source?: { pointer: string } }[]
  /** The answer's x-should-retry header. */
  retry: string | null
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SdkOutcome = { ok: true; value: any } | { ok: false; error: SdkError }

const DRIVER = path.join(ROOT, 'test/e2e/clients/sdk-driver.mjs')

export async function sdk(
  target: Target,
  steps: SdkStep[],
): Promise<{ outcomes: SdkOutcome[]; run: Run; check: <T>(fn: () => T) => T }> {
  const result = expectSuccess(
    await run(process.execPath, [DRIVER], {
      cwd: ROOT,
      input: JSON.stringify({ baseURL: target.apiBase, steps }),
      // The SDK's own backoff (0.5 s, 1 s) fits in easily; its 60 s timeout never should be reached.
      timeoutMs: 45_000,
      env: {
        CLOUDFLARE_API_KEY: undefined,
        CLOUDFLARE_EMAIL: undefined,
        CLOUDFLARE_BASE_URL: undefined,
      },
    }),
  )
  const outcomes = explained(result, () => JSON.parse(result.stdout) as SdkOutcome[])
  return { outcomes, run: result, check: (fn) => explained(result, fn) }
}

/** The value of a step that must have succeeded. */
export function resolved(outcome: SdkOutcome | undefined) {
  if (!outcome?.ok) throw new Error(`expected success, got ${JSON.stringify(outcome)}`)
  return outcome.value
}

/** The error of a step that must have failed. */
export function raised(outcome: SdkOutcome | undefined): SdkError {
  if (outcome === undefined || outcome.ok) {
    throw new Error(`expected the SDK to raise, got ${JSON.stringify(outcome)}`)
  }
  return outcome.error
}
