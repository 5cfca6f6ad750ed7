#!/usr/bin/env bash
# Two ledger instances on one PostgreSQL database, and a failover: the
# walk-through of README "Running several instances", as plain processes.
# Run it after `npm install && npm run build`:
#
#   bash examples/two-instances.sh
#
# It makes a shared token file, starts instances on ports 3001 and 3002,
# writes through one and reads through the other, then kills the one that
# took an operation (kill -9) and lets the other finish it. The README shows
# the same lines from WORK= on (test/walkthrough.e2e-spec.ts checks it).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d)}
PORT_A=${PORT_A:-3001} PORT_B=${PORT_B:-3002}
export LEDGER_STORE=postgres
export LEDGER_POSTGRES_URL=${LEDGER_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/tenant_ledger}

# Every instance reads the same token file; make it once (it prints the tokens once).
node dist/create-tokens.js "$WORK/shared" > /dev/null
export LEDGER_TOKENS_FILE=$WORK/shared/tokens.json
token() { awk -v who="$1" '$1 == who { print $2 }' "$WORK/shared/initial-tokens.txt"; }
OP=$(token operator) APPROVER=$(token approver) VIEW=$(token viewer)
# ... and signs checkpoints with the same key; make it once (it prints the public key).
node dist/create-checkpoint-key.js "$WORK/shared/checkpoint-key.pem" > /dev/null
export LEDGER_CHECKPOINT_KEY_FILE=$WORK/shared/checkpoint-key.pem

# Each instance keeps its own read models in its own data folder; the ledger is in PostgreSQL.
PORT=$PORT_A LEDGER_DATA_DIR=$WORK/a node dist/main.js > "$WORK/a.log" 2>&1 & A=$!
PORT=$PORT_B LEDGER_DATA_DIR=$WORK/b node dist/main.js > "$WORK/b.log" 2>&1 & B=$!
trap 'kill $A $B 2> /dev/null || true' EXIT
for port in $PORT_A $PORT_B; do
  until curl -sf "http://127.0.0.1:$port/health" > /dev/null; do sleep 0.2; done
done
A_API=http://127.0.0.1:$PORT_A/v1 B_API=http://127.0.0.1:$PORT_B/v1

# Write through a; read through b at least as new as that write (Ledger-Position → Ledger-Min-Position).
for id in demo-1 demo-2 demo-3; do
  POSITION=$(curl -s -D - -o /dev/null -X POST "$A_API/sites" -H "Authorization: Bearer $OP" \
    -H 'Content-Type: application/json' -d "{\"siteId\": \"$id\", \"customerId\": \"c-$id\", \"name\": \"$id\"}" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "ledger-position" { print $2 }')
done
curl -s "$B_API/stats" -H "Authorization: Bearer $VIEW" -H "Ledger-Min-Position: $POSITION"; echo

# An operation planned on b, approved and executed on a; then a dies.
PLAN=$(curl -s -X POST "$B_API/operations" -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' \
  -d '{"action": "soft-delete", "siteIds": ["demo-1", "demo-2", "demo-3"], "reason": "failover drill"}')
OPERATION=$(node -p 'JSON.parse(process.argv[1]).operationId' "$PLAN")
DIGEST=$(node -p 'JSON.parse(process.argv[1]).digest' "$PLAN")
curl -s -o /dev/null -X POST "$A_API/operations/$OPERATION/approve" -H "Authorization: Bearer $APPROVER" \
  -H 'Content-Type: application/json' -d "{\"digest\": \"$DIGEST\"}"
curl -s -o /dev/null -X POST "$A_API/operations/$OPERATION/execute" -H "Authorization: Bearer $OP" \
  -H 'Content-Type: application/json' -d "{\"digest\": \"$DIGEST\"}"
kill -9 $A && wait $A 2> /dev/null || true

# b carries on: a wave a left unfinished is resumed within LEDGER_LEASE_TTL (10 s); continue runs the rest on b.
for _ in $(seq 1 100); do
  STATUS=$(curl -s "$B_API/operations/$OPERATION" -H "Authorization: Bearer $VIEW" | node -p 'JSON.parse(require("fs").readFileSync(0)).status')
  case $STATUS in
    completed) break ;;
    paused) curl -s -o /dev/null -X POST "$B_API/operations/$OPERATION/continue" -H "Authorization: Bearer $OP" \
      -H 'Content-Type: application/json' -d '{}' ;;
  esac
  sleep 0.2
done
echo "operation $OPERATION: $STATUS on b after a was killed"
curl -s "$B_API/stats" -H "Authorization: Bearer $VIEW"; echo
