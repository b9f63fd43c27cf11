/**
 * Cloudflare's API reference for the five endpoints (reference/mtls-certificates-api.md, a
 * verbatim copy): per operation, its curl line and its example response.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from '../../../scripts/dev-servers.mjs'
import type { Envelope } from './context'

export const REFERENCE_FILE = path.join(ROOT, 'test/e2e/reference/mtls-certificates-api.md')
/** The host every curl line of the reference names. */
export const REFERENCE_BASE = 'https://api.cloudflare.com/client/v4'

export interface Operation {
  /** e.g. `post /accounts/{account_id}/mtls_certificates` */
  key: string
  /** As printed: one line, its continuations flattened to ` \ `. */
  curl: string
  response: Envelope
}

export function referenceOperations(): Map<string, Operation> {
  const text = readFileSync(REFERENCE_FILE, 'utf8')
  const operations = new Map<string, Operation>()
  for (const section of text.split(/^## /m).slice(1)) {
    const heading = /^.*?\*\*(get|post|delete)\*\* `([^`]+)`/.exec(section)
    if (!heading) continue
    const curl = /^ (curl .*)$/m.exec(section)?.[1]
    const response = /#### Response\s*```json\s*([\s\S]*?)```/.exec(section)?.[1]
    if (curl === undefined || response === undefined) {
      throw new Error(`reference section without curl line or response: ${heading[0]}`)
    }
    const key = `${heading[1]} ${heading[2]}`
    operations.set(key, { key, curl, response: JSON.parse(response) as Envelope })
  }
  return operations
}
