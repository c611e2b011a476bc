#!/usr/bin/env bash
# Measures GET /v1/availability on a release build of the local server: seeds a service with 300 appointments,
# then drives 50 concurrent connections for 10 s with wrk (apt-get install wrk), or with our own Rust client when
# wrk is missing (it costs more CPU itself, so its figures are worse on a small machine).
# Afterwards it prints the server's resident memory: now and its peak (VmHWM) over the whole run.
# Environment: WINDOW_DAYS (default 1: "what is free on Tuesday?"), CONNECTIONS (50), SECONDS_TO_RUN (10),
# WRK_THREADS (1). One wrk thread drives about 28k requests/s here, more than the server answers; a second one
# adds no load, only a fourth busy thread on two cores that preempts the server's and lengthens the tail
# (measured side by side on a quiet machine: p99 3.6 ms with one, 5.0 ms with two).
set -euo pipefail
cd "$(dirname "$0")/.."
window_days=${WINDOW_DAYS:-1}
connections=${CONNECTIONS:-50}
seconds=${SECONDS_TO_RUN:-10}
cargo build --release -q -p local-server -p integration-tests --bin local-server --bin load-availability
target=$(scripts/target-dir.sh)
data=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$data"' EXIT
"$target"/release/local-server --data-dir "$data" --listen 127.0.0.1:0 > "$data/server.json" 2> "$data/server.log" &
server=$!
for _ in $(seq 1 100); do [ -s "$data/server.json" ] && break; sleep 0.1; done
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$data/server.json")
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["demo_api_key"])' "$data/server.json")
if ! command -v wrk >/dev/null; then
  "$target"/release/load-availability --url "$url" --key "$key" --concurrency "$connections" --seconds "$seconds" \
    --window-days "$window_days"
  grep -E 'VmRSS|VmHWM' "/proc/$server/status"
  exit
fi
service=$("$target"/release/load-availability --url "$url" --key "$key" --seed-only)
from=$(date -u -d 'tomorrow' +%F)
to=$(date -u -d "tomorrow + $((window_days - 1)) days" +%F)
wrk -t"${WRK_THREADS:-1}" -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $key" \
  "$url/v1/availability?service_id=$service&from=$from&to=$to"
grep -E 'VmRSS|VmHWM' "/proc/$server/status"
