/**
 * The emulator as the gateway's tests see it: its controls (test/kit/emulator.ts) through the
 * EMULATOR service binding, and certificates placed in it behind the gateway's back.
 */
import { env } from 'cloudflare:test'
import { makeCertificate } from '../kit/certificates'
import { emulatorControl } from '../kit/emulator'
import { ACCOUNT, EMULATOR_CONTROL_SECRET, UPSTREAM_TOKEN } from './identities'

export const emulator = emulatorControl(env.EMULATOR, EMULATOR_CONTROL_SECRET)

/**
 * A leaf certificate placed straight into the emulator, as if uploaded outside the gateway: it has
 * no owner in the ledger. Returns its id.
 */
export async function seedUnowned(account = ACCOUNT): Promise<string> {
  const made = await makeCertificate({ ca: false })
  const seeded = await emulator.seedCertificate(account, { ca: false, certificates: made.pem })
  return seeded.certificate.id
}

/**
 * Deletes a certificate through the emulator's own API, as someone with the token (or the
 * dashboard) would outside the gateway: the ledger is not told.
 */
export async function deleteOutside(id: string, account = ACCOUNT): Promise<void> {
  const response = await env.EMULATOR.fetch(
    `https://emulator.test/client/v4/accounts/${account}/mtls_certificates/${id}`,
    { method: 'DELETE', headers: { authorization: `Bearer ${UPSTREAM_TOKEN}` } },
  )
  if (!response.ok) throw new Error(`emulator delete ${id}: ${response.status}`)
}

/** A CA (or leaf) certificate placed straight into the emulator, with the given upload time. */
export async function seedWith(fields: { ca: boolean; pem: string; uploaded_on?: string }) {
  const seeded = await emulator.seedCertificate(ACCOUNT, {
    ca: fields.ca,
    certificates: fields.pem,
    ...(fields.uploaded_on !== undefined ? { uploaded_on: fields.uploaded_on } : {}),
  })
  return seeded.certificate.id
}
