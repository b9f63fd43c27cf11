// The README's SDK walkthrough with the official `cloudflare` package. test/e2e/readme-snippets
// .test.ts runs this file as it is. Run it from the repository root against `npm start`:
//   MTLS_GATEWAY_KEY=mtlsgw_DEMO_payments_bob_xxxxxxxxxxxxxxxxxxxxxxxxx npx tsx docs/examples/sdk.ts
import { readFileSync } from 'node:fs'
import Cloudflare from 'cloudflare'

const gateway = process.env.GATEWAY ?? 'http://127.0.0.1:8787'
const cf = new Cloudflare({
  apiToken: process.env.MTLS_GATEWAY_KEY, // a gateway key, not a Cloudflare token
  baseURL: `${gateway}/client/v4`, // the gateway + /client/v4
})
const account_id = '023e105f4ecef8ad9ca31a8372d0c353'
const pem = readFileSync('test/fixtures/example-ca.pem', 'utf8')

const cert = await cf.mtlsCertificates.create({
  account_id,
  ca: true,
  certificates: pem,
  name: 'ci-root',
})
console.log('uploaded', cert.id, cert.issuer)

for await (const c of cf.mtlsCertificates.list({ account_id, type: ['custom'] })) {
  console.log('listed', c.id, c.name)
}
const got = await cf.mtlsCertificates.get(cert.id!, { account_id })
console.log('expires', got.expires_on)
for await (const a of cf.mtlsCertificates.associations.get(cert.id!, { account_id })) {
  console.log('used by', a.service, a.status)
}

try {
  const deleted = await cf.mtlsCertificates.delete(cert.id!, { account_id })
  console.log('deleted', deleted.id)
} catch (error) {
  // A lead's delete of a CA waits for an admin's approval: the SDK raises it, and the message
  // names the approval, its expiry and who may approve it.
  if (!(error instanceof Cloudflare.PermissionDeniedError)) throw error
  console.log('not deleted yet:', error.errors[0]?.message)
  // An admin approves it (the SDK has no call for the gateway's own endpoints: plain fetch), so
  // the walkthrough leaves nothing behind and runs again, before or after the other examples.
  const approval = (error.error as { approval?: { id?: string } } | undefined)?.approval?.id
  const admin = process.env.MTLS_ADMIN_KEY ?? 'mtlsgw_DEMO_platform_admin_xxxxxxxxxxxxxxxxxxxxxxx'
  const approved = await fetch(`${gateway}/gateway/v1/approvals/${approval}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}` },
  })
  if (!approved.ok) {
    const answer = `${approved.status} ${await approved.text()}`
    throw new Error(`approval ${approval}: ${answer}`, { cause: error })
  }
  console.log('approved and deleted', cert.id)
}
