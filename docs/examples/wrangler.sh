#!/usr/bin/env bash
# The README's wrangler walkthrough. test/e2e/readme-snippets.test.ts runs this file as it is.
# Run it from the repository root against `npm start` (demo policy); it needs openssl for the demo
# leaf certificate. On a terminal wrangler asks before deleting; answer yes.
set -euo pipefail

# All wrangler needs to talk to the gateway instead of Cloudflare
export CLOUDFLARE_API_BASE_URL=${GATEWAY:-http://127.0.0.1:8787}/client/v4
export CLOUDFLARE_API_TOKEN=mtlsgw_DEMO_payments_bob_xxxxxxxxxxxxxxxxxxxxxxxxx # a gateway key
export CLOUDFLARE_ACCOUNT_ID=023e105f4ecef8ad9ca31a8372d0c353

# A client certificate and its key (self-signed, for the demo)
DIR=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
  -subj /CN=payments-client -addext basicConstraints=critical,CA:FALSE \
  -keyout "$DIR/client.key" -out "$DIR/client.pem" 2>/dev/null

npx wrangler mtls-certificate upload --cert "$DIR/client.pem" --key "$DIR/client.key" \
  --name payments-client
npx wrangler mtls-certificate list
npx wrangler mtls-certificate delete --name payments-client

# CA certificates; cert list shows leaves and CAs
npx wrangler cert upload certificate-authority --ca-cert test/fixtures/example-ca.pem \
  --name example_ca_cert
npx wrangler cert list
# Deleting a CA needs an admin (a lead's delete waits for an admin's approval, and wrangler says so)
CLOUDFLARE_API_TOKEN=mtlsgw_DEMO_platform_admin_xxxxxxxxxxxxxxxxxxxxxxx \
  npx wrangler cert delete --name example_ca_cert
rm -r "$DIR"
