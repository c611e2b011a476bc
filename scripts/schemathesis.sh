#!/usr/bin/env bash
# Fuzzes the local server from its own /openapi.json with schemathesis: no 5xx, and every response must conform to
# the document (status code, content type, headers, body schema). Fails under 1,000 generated requests.
set -euo pipefail
cd "$(dirname "$0")/.."
schemathesis=${SCHEMATHESIS:-.tools/venv/bin/schemathesis}
[ -x "$schemathesis" ] || { echo "schemathesis missing: run scripts/install-test-tools.sh" >&2; exit 1; }
cargo build -q -p local-server
data=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$data"' EXIT
RUST_LOG=warn ./target/debug/local-server --data-dir "$data" --listen 127.0.0.1:0 > "$data/server.json" 2> "$data/server.log" &
server=$!
for _ in $(seq 1 100); do [ -s "$data/server.json" ] && break; sleep 0.1; done
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$data/server.json")
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["demo_api_key"])' "$data/server.json")

# positive_data_acceptance is left out on purpose: the document states types and bounds, while the API also
# enforces domain rules (a real time zone, non-overlapping hours, a bookable slot) that a schema cannot express.
"$schemathesis" run "$url/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-120}" --seed 1 --workers 2 \
  --phases examples,coverage,fuzzing \
  --no-color --report ndjson --report-ndjson-path "$data/events.ndjson"

requests=$(python3 - "$data/events.ndjson" <<'PY'
import json, sys
count = 0
for line in open(sys.argv[1]):
    event = json.loads(line)
    for name, body in event.items():
        if name == "ScenarioFinished":
            recorder = body.get("recorder", {})
            count += sum(len(interactions) if isinstance(interactions, list) else 1
                         for interactions in [recorder.get("interactions", {})] for _ in [0]) if isinstance(recorder.get("interactions"), list) else len(recorder.get("interactions", {}))
print(count)
PY
)
echo "schemathesis sent $requests requests"
if [ "$requests" -lt 1000 ]; then
  echo "schemathesis generated fewer than 1000 requests" >&2
  exit 1
fi
if grep -q '"status": 5\|"status_code": 5[0-9][0-9]' "$data/server.log"; then
  echo "the server logged a 5xx" >&2
  exit 1
fi
