/**
 * Owns: the emulated upstream's data: certificates per account, in upload order, and each
 * certificate's associations.
 *
 * State lives in module memory of the isolate, so it survives between requests of one `wrangler
 * dev` or test run and is lost on restart; `/__emulator/reset` wipes it. A stored record keeps its
 * public fields apart from what the API never shows on get/list/delete (`updated_at`) and from
 * internal bookkeeping (fingerprint). A private key is never stored.
 */

export type CertificateFields = Record<string, unknown> & { id: string }

export type Association = { service: string; status: string }

export type StoredCertificate = {
  accountId: string
  fields: CertificateFields
  /** Shown only in the upload answer (contract §1 "Create"). */
  updatedAt: string | undefined
  /** SHA-256 over the certificate bytes; `null` for seeded records without parsable PEM. */
  fingerprint: string | null
}

const accounts = new Map<string, Map<string, StoredCertificate>>()
const associations = new Map<string, Association[]>()

function accountCertificates(accountId: string): Map<string, StoredCertificate> {
  let certificates = accounts.get(accountId)
  if (!certificates) {
    certificates = new Map()
    accounts.set(accountId, certificates)
  }
  return certificates
}

export function addCertificate(record: StoredCertificate): StoredCertificate {
  accountCertificates(record.accountId).set(record.fields.id, record)
  return record
}

export function listCertificates(accountId: string): StoredCertificate[] {
  return [...(accounts.get(accountId)?.values() ?? [])]
}

export function getCertificate(accountId: string, id: string): StoredCertificate | undefined {
  return accounts.get(accountId)?.get(id)
}

export function removeCertificate(accountId: string, id: string): void {
  accounts.get(accountId)?.delete(id)
  associations.delete(id)
}

export function findByFingerprint(accountId: string, fingerprint: string) {
  return listCertificates(accountId).find((record) => record.fingerprint === fingerprint)
}

export function countCaCertificates(accountId: string): number {
  return listCertificates(accountId).filter((record) => record.fields.ca === true).length
}

/** Any account: the control API addresses certificates by id alone. */
export function certificateExists(id: string): boolean {
  return [...accounts.values()].some((certificates) => certificates.has(id))
}

export function getAssociations(id: string): Association[] {
  return associations.get(id) ?? []
}

export function setAssociations(id: string, list: Association[]): void {
  if (list.length === 0) associations.delete(id)
  else
    associations.set(
      id,
      list.map((a) => ({ service: a.service, status: a.status })),
    )
}

export function resetStore(): void {
  accounts.clear()
  associations.clear()
}
