/**
 * Owns: the five upstream endpoints under `/client/v4/accounts/:account_id/mtls_certificates`
 * (contract §1), as thin handlers over `upload.ts` and `certificate-store.ts`.
 *
 * Every path answers its own methods behind `authenticate` and `rateLimit`; any other method on a
 * known path is 405/7001 (before authentication, like an unknown route). Ids are matched exactly as
 * given (no length or format check: real ids are 36-character UUIDs, the SDK tests use 32 hex).
 */

import { Hono, type Context } from 'hono'

import { EMULATOR_TOKEN_ACTOR, recordChange } from './account-audit-log'
import type { AppEnv } from './app-env'
import { authenticate } from './auth'
import {
  getAssociations,
  getCertificate,
  listCertificates,
  removeCertificate,
  type StoredCertificate,
} from './certificate-store'
import { success, type ResultInfo } from './envelope'
import { apiErrors } from './errors'
import { listFilter } from './list-filter'
import { rateLimit } from './rate-limiter'
import { parseUploadBody, uploadCertificate } from './upload'

const LIST_PER_PAGE = 50
const ASSOCIATIONS_PER_PAGE = 20

function singlePage(count: number, perPage: number): ResultInfo {
  return { count, page: 1, per_page: perPage, total_count: count, total_pages: 1 }
}

function findOrThrow(c: Context<AppEnv>): StoredCertificate {
  const record = getCertificate(c.req.param('account_id') ?? '', c.req.param('id') ?? '')
  if (!record) throw apiErrors.certificateNotFound()
  return record
}

/** A change made with the emulator's own token, in the account's audit log (account-audit-log.ts). */
function logChange(c: Context<AppEnv>, type: 'create' | 'delete', record: StoredCertificate) {
  recordChange({
    accountId: record.accountId,
    type,
    certificateId: record.fields.id,
    actor: EMULATOR_TOKEN_ACTOR,
    method: c.req.method,
    uri: new URL(c.req.url).pathname,
    userAgent: c.req.header('user-agent') ?? '',
  })
}

const methodNotAllowed = () => {
  throw apiErrors.methodNotAllowed()
}

export function certificateRoutes() {
  const guard = [authenticate(), rateLimit()] as const
  return new Hono<AppEnv>()
    .get('/', ...guard, (c) => {
      const records = listCertificates(c.req.param('account_id') ?? '').filter(listFilter(c))
      return success(
        c,
        records.map((r) => r.fields),
        singlePage(records.length, LIST_PER_PAGE),
      )
    })
    .post('/', ...guard, async (c) => {
      const body = parseUploadBody(await c.req.text())
      const record = await uploadCertificate(c.req.param('account_id') ?? '', body)
      logChange(c, 'create', record)
      const { uploaded_on, ...fields } = record.fields
      return success(c, { ...fields, updated_at: record.updatedAt, uploaded_on })
    })
    .all('/', methodNotAllowed)
    .get('/:id', ...guard, (c) => success(c, findOrThrow(c).fields))
    .delete('/:id', ...guard, (c) => {
      const record = findOrThrow(c)
      if (getAssociations(record.fields.id).length > 0) throw apiErrors.certificateInUse()
      removeCertificate(record.accountId, record.fields.id)
      logChange(c, 'delete', record)
      return success(c, record.fields)
    })
    .all('/:id', methodNotAllowed)
    .get('/:id/associations', ...guard, (c) => {
      const list = getAssociations(findOrThrow(c).fields.id)
      return success(c, list, singlePage(list.length, ASSOCIATIONS_PER_PAGE))
    })
    .all('/:id/associations', methodNotAllowed)
}
