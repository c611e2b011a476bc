#!/usr/bin/env bash
# Fuzzes the local server from its own /openapi.json with schemathesis: no 5xx, and every response must conform to
# the document (status code, content type, headers, body schema). Fails under 1,000 generated requests.
set -euo pipefail
cd "$(dirname "$0")/.."
schemathesis=${SCHEMATHESIS:-.tools/venv/bin/schemathesis}
[ -x "$schemathesis" ] || { echo "schemathesis missing: run scripts/install-test-tools.sh" >&2; exit 1; }
cargo build -q -p local-server
target=$(scripts/target-dir.sh)
data=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$data"' EXIT
RUST_LOG=info "$target/debug/local-server" --data-dir "$data" --listen 127.0.0.1:0 > "$data/server.json" 2> "$data/server.log" &
server=$!
for _ in $(seq 1 100); do [ -s "$data/server.json" ] && break; sleep 0.1; done

# A real service and appointment, so that fuzzed requests for them reach the logic behind the 404s.
python3 - "$data" <<'PY'
import json, sys, urllib.request
data = sys.argv[1]
server = json.load(open(f"{data}/server.json"))
def call(method, path, body):
    request = urllib.request.Request(server["url"] + path, method=method, data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + server["demo_api_key"], "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))
day = [{"start": "00:00", "end": "24:00"}]
service = call("POST", "/v1/services", {"name": "Fuzzed", "duration_minutes": 30, "booking_horizon_days": 366,
    "weekly_hours": {d: day for d in ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]}})
slots = json.load(urllib.request.urlopen(urllib.request.Request(
    f"{server['url']}/v1/availability?service_id={service['id']}",
    headers={"Authorization": "Bearer " + server["demo_api_key"]})))["slots"]
appointment = call("POST", "/v1/appointments", {"service_id": service["id"], "start": slots[-1]["start"],
    "customer": {"name": "Fuzz", "phone": "+14155550123"}})
hold = call("POST", "/v1/holds", {"service_id": service["id"], "start": slots[-3]["start"]})
with open(f"{data}/schemathesis.toml", "w") as config:
    config.write(f'[parameters]\n"path.service_id" = "{service["id"]}"\n"query.service_id" = "{service["id"]}"\n'
                 f'"path.appointment_id" = "{appointment["id"]}"\n"path.hold_id" = "{hold["id"]}"\n')
PY
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$data/server.json")
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["demo_api_key"])' "$data/server.json")

# positive_data_acceptance is left out on purpose: the document states types and bounds, while the API also
# enforces domain rules (a real time zone, non-overlapping hours, a bookable slot) that a schema cannot express.
"$schemathesis" --config-file "$data/schemathesis.toml" run "$url/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-60}" --seed 1 --workers 2 \
  --phases examples,coverage,fuzzing \
  --no-color --report ndjson --report-ndjson-path "$data/events.ndjson"

requests=$(python3 - "$data/events.ndjson" <<'PY'
import json, sys
count = 0
for line in open(sys.argv[1]):
    event = json.loads(line)
    if "ScenarioFinished" in event:
        count += len(event["ScenarioFinished"].get("recorder", {}).get("cases", {}))
print(count)
PY
)
server_errors=$(grep -c '"status":5[0-9][0-9]\|status=5[0-9][0-9]' "$data/server.log" || true)
echo "schemathesis: $requests requests, $server_errors server errors logged"
if [ "$requests" -lt 1000 ]; then
  echo "schemathesis generated fewer than 1,000 requests" >&2
  exit 1
fi
if [ "$server_errors" -gt 0 ]; then
  echo "the server answered with a 5xx" >&2
  exit 1
fi
