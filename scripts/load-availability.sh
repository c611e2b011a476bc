#!/usr/bin/env bash
# Measures GET /v1/availability on a release build of the local server: 50 concurrent clients for 10 s by default.
# Extra arguments go to the load generator (e.g. --window-days 60 --seconds 20).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p local-server -p integration-tests --bin local-server --bin load-availability
data=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$data"' EXIT
./target/release/local-server --data-dir "$data" --listen 127.0.0.1:0 > "$data/server.json" 2> "$data/server.log" &
server=$!
for _ in $(seq 1 100); do [ -s "$data/server.json" ] && break; sleep 0.1; done
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$data/server.json")
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["demo_api_key"])' "$data/server.json")
RUST_LOG=warn ./target/release/load-availability --url "$url" --key "$key" "$@"
