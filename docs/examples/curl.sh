#!/usr/bin/env bash
# The README's curl walkthrough. test/e2e/readme-snippets.test.ts runs this file as it is, so
# every line works as written. Run it from the repository root against `npm start` (demo policy);
# it needs curl and jq. Each request prints its answer, one JSON document after the other.
set -euo pipefail

GATEWAY=${GATEWAY:-http://127.0.0.1:8787}
GW=$GATEWAY/client/v4
ACCOUNT=023e105f4ecef8ad9ca31a8372d0c353
ALICE=mtlsgw_DEMO_payments_alice_xxxxxxxxxxxxxxxxxxxxxxx # payments, developer
BOB=mtlsgw_DEMO_payments_bob_xxxxxxxxxxxxxxxxxxxxxxxxx   # payments, lead
CAROL=mtlsgw_DEMO_identity_carol_xxxxxxxxxxxxxxxxxxxxxxx # identity, developer
ADMIN=mtlsgw_DEMO_platform_admin_xxxxxxxxxxxxxxxxxxxxxxx # platform, admin

# Upload (Cloudflare's body: ca and certificates required, name and private_key optional)
curl -s "$GW/accounts/$ACCOUNT/mtls_certificates" \
  -H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' \
  -d "$(jq -n --rawfile pem test/fixtures/example-ca.pem \
    '{ca: true, certificates: $pem, name: "example_ca_cert"}')"

# List (type comma-separated or repeated; ca and name filter the result)
curl -s "$GW/accounts/$ACCOUNT/mtls_certificates?type=custom" -H "Authorization: Bearer $ALICE"

# Get and associations, by the id that a list by name returns
ID=$(curl -s "$GW/accounts/$ACCOUNT/mtls_certificates?name=example_ca_cert" \
  -H "Authorization: Bearer $ALICE" | jq -r '.result[0].id')
curl -s "$GW/accounts/$ACCOUNT/mtls_certificates/$ID" -H "Authorization: Bearer $ALICE"
curl -s "$GW/accounts/$ACCOUNT/mtls_certificates/$ID/associations" -H "Authorization: Bearer $ALICE"

# carol (identity) cannot see payments' certificate: the same 404 as for an id that does not exist
curl -s "$GW/accounts/$ACCOUNT/mtls_certificates/$ID" -H "Authorization: Bearer $CAROL"

# alice (developer) may not delete: 403 / 18301
curl -s -X DELETE "$GW/accounts/$ACCOUNT/mtls_certificates/$ID" -H "Authorization: Bearer $ALICE"

# bob (lead) may, but a CA needs an admin's approval: 403 / 18309, the message names the approval
curl -s -X DELETE "$GW/accounts/$ACCOUNT/mtls_certificates/$ID" -H "Authorization: Bearer $BOB"

# A client that knows about approvals asks for the 202 form, with the approval as an object (the
# same approval: a certificate has one open approval at a time)
APPROVAL=$(curl -s -X DELETE "$GW/accounts/$ACCOUNT/mtls_certificates/$ID" \
  -H "Authorization: Bearer $BOB" -H 'Prefer: respond-async' | jq -r '.approval.id')

# An admin approves: the delete runs now and answers the deleted certificate
curl -s -X POST "$GATEWAY/gateway/v1/approvals/$APPROVAL/approve" -H "Authorization: Bearer $ADMIN"
