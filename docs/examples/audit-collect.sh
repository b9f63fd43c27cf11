#!/usr/bin/env bash
# The daily audit collection of the operator's guide (docs/operators.md, "Scheduled exports and
# checkpoint collection"): exports a window of the audit log as NDJSON, collects every chain's signed
# checkpoints, and checks both with `npm run audit:verify`, so that what leaves Cloudflare is
# verified as it leaves. Keep the folder it fills outside Cloudflare. Run it from the repository
# root (it needs curl, jq, npm and GNU date); docs/examples/audit-collect.yml runs it every day on
# GitHub Actions, and test/e2e/readme-snippets.test.ts runs it against `npm start`.
# Exit status: audit:verify's (0 only when nothing was found), or curl's when the gateway failed.
set -euo pipefail

GATEWAY=${GATEWAY:-http://127.0.0.1:8787}
# An auditor's (or admin's) gateway key, and the HMAC key the entries are signed with (the Worker's
# AUDIT_SIGNING_KEY): both secrets, from the environment only.
: "${MTLSGW_KEY:?set MTLSGW_KEY to an auditor gateway key}"
: "${AUDIT_SIGNING_KEY:?set AUDIT_SIGNING_KEY to the AUDIT_SIGNING_KEY of the Worker}"
export MTLSGW_KEY AUDIT_SIGNING_KEY
ARCHIVE=${ARCHIVE:-audit-archive}
# The gateway's Ed25519 public key, pinned: fetched and saved on the first run only.
PUBLIC_KEY=${PUBLIC_KEY:-$ARCHIVE/audit-key.jwk}
# The window: the 24 hours that ended 10 minutes ago (changes still in flight are not pending yet).
NOW=$(date -u +%s)
TO=${TO:-$(date -u -d "@$((NOW - 600))" +%Y-%m-%dT%H:%M:%SZ)}
FROM=${FROM:-$(date -u -d "@$((NOW - 600 - 86400))" +%Y-%m-%dT%H:%M:%SZ)}
STAMP=$(date -u -d "@$NOW" +%Y%m%dT%H%M%SZ)

mkdir -p "$ARCHIVE"
get() { curl -fsS -G "$GATEWAY/gateway/v1/audit/$1" -H "Authorization: Bearer $MTLSGW_KEY" "${@:2}"; }

if [ ! -s "$PUBLIC_KEY" ]; then
  get public-key | jq .result > "$PUBLIC_KEY"
  echo "pinned the gateway's public key in $PUBLIC_KEY (first run: compare it with the key audit:key printed)"
fi

# The export, part after part while its end marker says it was cut short
PARTS=()
CURSOR=
while :; do
  PART=$ARCHIVE/audit-$STAMP-$((${#PARTS[@]} + 1)).ndjson
  get export --data-urlencode "from=$FROM" --data-urlencode "to=$TO" -d format=ndjson \
    ${CURSOR:+--data-urlencode "cursor=$CURSOR"} > "$PART"
  PARTS+=("$PART")
  CURSOR=$(tail -n 1 "$PART" | jq -r 'if .complete then "" else .next_cursor // "" end')
  [ -n "$CURSOR" ] || break
done

# Every chain the export holds: its hourly checkpoints and one of its head now, kept once each
CHAINS=$(tail -q -n 1 "${PARTS[@]}" | jq -r '.chains // {} | keys[]' | sort -u)
for CHAIN in $CHAINS; do
  get checkpoints --data-urlencode "chain=$CHAIN" -d limit=1000 | jq -c '.result[]'
  get checkpoint --data-urlencode "chain=$CHAIN" | jq -c .result
done >> "$ARCHIVE/checkpoints.jsonl"
sort -u -o "$ARCHIVE/checkpoints.jsonl" "$ARCHIVE/checkpoints.jsonl"

# Offline: every entry by its HMAC, each marker and checkpoint by the pinned public key
RANGE=()
if [ ${#PARTS[@]} -eq 1 ]; then RANGE=(--from "$FROM" --to "$TO"); fi
for PART in "${PARTS[@]}"; do
  npm run --silent audit:verify -- --file "$PART" --public-key "$PUBLIC_KEY" \
    --checkpoints "$ARCHIVE/checkpoints.jsonl" "${RANGE[@]}"
done
