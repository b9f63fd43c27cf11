/**
 * Owns: the rules of an upload (POST .../mtls_certificates), kept free of HTTP so they read as a
 * list: validate the body, parse the PEM, read the private key, refuse duplicates, enforce the CA
 * quota, then store.
 *
 * Body (contract §1): `ca` boolean and `certificates` string are required; `name` and
 * `private_key` are optional strings, where `""` and `null` count as absent (cloudflare-go sends
 * `""` for unset fields). Unknown fields are ignored (the spec has no additionalProperties: false).
 * The private key must be readable (`private-key.ts`) and is then dropped: never stored, never
 * returned.
 */

import { z } from 'zod'

import {
  addCertificate,
  countCaCertificates,
  findByFingerprint,
  type StoredCertificate,
} from './certificate-store'
import { parseCertificates, UnparsableCertificate } from './certificate-pem'
import { apiErrors } from './errors'
import { getLimits } from './limits'
import { isReadablePrivateKey } from './private-key'
import { nowWithMicros } from './timestamps'

const optionalString = z
  .string({ error: 'must be a string' })
  .nullish()
  .transform((value) => (value ? value : undefined))

const uploadBody = z.object({
  ca: z.boolean({ error: 'must be a boolean' }),
  certificates: z.string({ error: 'must be a string' }),
  name: optionalString,
  private_key: optionalString,
})

/** Signatures the CA requirements allow (contract §4, byo-ca-mtls-cert-requirements). */
const CA_SIGNATURES = new Set([
  'SHA1WithRSA',
  'SHA256WithRSA',
  'SHA384WithRSA',
  'SHA512WithRSA',
  'ECDSAWithSHA1',
  'ECDSAWithSHA256',
  'ECDSAWithSHA384',
  'ECDSAWithSHA512',
])

export function parseUploadBody(text: string) {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw apiErrors.malformedJson()
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw apiErrors.invalidFields([{ message: 'request body must be a JSON object', pointer: '' }])
  }
  const parsed = uploadBody.safeParse(json)
  if (!parsed.success) {
    throw apiErrors.invalidFields(
      parsed.error.issues.map((issue) => {
        const field = issue.path.join('/')
        const message =
          issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message
        return { message: `${field}: ${message}`, pointer: `/${field}` }
      }),
    )
  }
  return parsed.data
}

/** Returns the stored record; the caller renders it with `updated_at`. */
export async function uploadCertificate(
  accountId: string,
  body: ReturnType<typeof parseUploadBody>,
): Promise<StoredCertificate> {
  let parsed
  try {
    parsed = await parseCertificates(body.certificates)
  } catch (err) {
    if (err instanceof UnparsableCertificate) throw apiErrors.unparsableCertificate()
    throw err
  }
  if (body.ca) {
    if (!parsed.firstIsCa) {
      throw apiErrors.notACaCertificate(
        'certificate is not a CA certificate: basicConstraints CA:TRUE is required when ca is true',
      )
    }
    if (!CA_SIGNATURES.has(parsed.computed.signature)) {
      throw apiErrors.notACaCertificate(
        `signature algorithm ${parsed.computed.signature} is not supported for a CA certificate`,
      )
    }
  }
  if (body.private_key !== undefined && !isReadablePrivateKey(body.private_key)) {
    throw apiErrors.unparsablePrivateKey()
  }
  if (findByFingerprint(accountId, parsed.fingerprint)) throw apiErrors.duplicateCertificate()
  if (body.ca && countCaCertificates(accountId) >= getLimits().ca_certificates_per_account) {
    throw apiErrors.caQuotaReached()
  }
  const uploadedOn = nowWithMicros()
  return addCertificate({
    accountId,
    fingerprint: parsed.fingerprint,
    updatedAt: uploadedOn,
    fields: {
      id: crypto.randomUUID(),
      ca: body.ca,
      certificates: body.certificates.replace(/(\r?\n)+$/, ''),
      expires_on: parsed.computed.expires_on,
      issuer: parsed.computed.issuer,
      ...(body.name !== undefined && { name: body.name }),
      serial_number: parsed.computed.serial_number,
      signature: parsed.computed.signature,
      type: 'custom',
      uploaded_on: uploadedOn,
    },
  })
}
