/**
 * `npm run audit:key` makes the gateway's Ed25519 audit key (src/audit/ed25519.ts): the private
 * JWK for the secret AUDIT_ED25519_PRIVATE_KEY, printed once and stored nowhere, and the public
 * JWK with its key id for the auditors to pin. Rotating it: set a new secret; checkpoints and
 * exports signed before stay checkable with the old public key, which the auditors keep.
 */
import { publicKeyOf } from '../src/audit/ed25519'
import { readCommandLine } from './command-line'

const command = {
  name: 'audit:key',
  synopsis: 'npm run audit:key',
  help: `
Makes the Ed25519 key that signs the gateway's checkpoints and export markers. Prints the private
key (a JWK) once, for the secret AUDIT_ED25519_PRIVATE_KEY, and then the public key with its key
id, which auditors pin and pass to audit:verify --public-key.

  -h, --help  this text

Exit status: 0 when a key was made, 2 when the arguments are wrong.`,
  options: {},
} as const

readCommandLine(command)
const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as {
  privateKey: Parameters<typeof crypto.subtle.exportKey>[1]
}
const { kty, crv, x, d } = await crypto.subtle.exportKey('jwk', pair.privateKey)
const secret = JSON.stringify({ kty, crv, x, d })
console.log(
  `Private key for the secret AUDIT_ED25519_PRIVATE_KEY (shown once; store it nowhere else):\n\n  ${secret}\n\n` +
    `Set it with \`npx wrangler secret put AUDIT_ED25519_PRIVATE_KEY\` and paste the line above.\n`,
)
console.log(
  `Public key for your auditors to pin (audit:verify --public-key; the gateway publishes it at\n` +
    `/gateway/v1/audit/public-key):\n\n${JSON.stringify(await publicKeyOf({ x: x! }), null, 2)}`,
)
