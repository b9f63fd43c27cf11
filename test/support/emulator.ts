/**
 * The emulator as the gateway's tests see it: its controls (test/kit/emulator.ts) through the
 * EMULATOR service binding, and certificates placed in it behind the gateway's back.
 */
import { env } from 'cloudflare:test'
import { makeCertificate } from '../kit/certificates'
import { emulatorControl } from '../kit/emulator'
import { ACCOUNT, EMULATOR_CONTROL_SECRET } from './identities'

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
