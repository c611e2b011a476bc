#!/usr/bin/env bash
# Every performance figure of the README in one run: the engine, the embedded store's window cost, holds, DynamoDB
# Local request counts and latency, the functions' cold starts and deployment zips, the local server under wrk (with
# its memory, and again after syncing 3,000 busy events), sync throughput, inbound freshness and the agent tools' latency. Raw outputs go to target/bench/, and
# the table the README's performance section is built from to target/bench/report.md (also printed).
# Takes about 25 minutes on two cores, most of it release builds. Needs wrk (apt-get install wrk) for the load rows.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-tools.sh
export PATH="$PWD/.tools/venv/bin:$PATH"
out=target/bench
rm -rf "$out"
mkdir -p "$out"

run() {
  local name=$1
  shift
  echo "== $name: $*" >&2
  "$@" > "$out/$name.txt" 2> "$out/$name.log" || { echo "$name failed; see $out/$name.log" >&2; exit 1; }
}

run engine cargo bench -p booking-core --bench availability -- --noplot
run window_cost cargo bench -p booking-core --bench window_cost -- --noplot
run holds cargo bench -p booking-core --bench holds
run dynamodb cargo bench -p booking-aws --features emulators --bench dynamodb
run cold_start cargo bench -p lambda-functions --bench cold_start
run lambda_zips scripts/lambda-zips.sh
# The same under the CPU share Lambda gives each memory setting (needs root for a cgroup; see the bench's header).
if [ -w /sys/fs/cgroup/cpu ]; then
  for memory in 128 256 512; do
    LAMBDA_MEMORY_MB=$memory COLD_STARTS=3 run "cold_start_${memory}mb" cargo bench -p lambda-functions --bench cold_start
  done
else
  echo "no writable /sys/fs/cgroup/cpu: the cold starts at a Lambda's CPU share are not measured" >&2
fi
for connections in 50 8 1; do
  WINDOW_DAYS=1 CONNECTIONS=$connections run "load_1_day_$connections" scripts/load-availability.sh
done
WINDOW_DAYS=1 CONNECTIONS=50 WRK_THREADS=2 run load_1_day_50_wrk2 scripts/load-availability.sh
WINDOW_DAYS=7 CONNECTIONS=50 run load_7_days_50 scripts/load-availability.sh
# The heavier run: the server syncs 3,000 busy events from the Google emulator's calendar, then serves availability
# to 50 clients for 10 s; its resident memory is read from /proc afterwards.
cargo build --release -q -p local-server -p integration-tests --bin local-server --bin local-server-memory
run local_memory "$(scripts/target-dir.sh)/release/local-server-memory" --server "$(scripts/target-dir.sh)/release/local-server"
run sync_throughput cargo run --release -q -p integration-tests --bin sync-throughput
run inbound_freshness cargo run --release -q -p integration-tests --bin inbound-freshness
run agent_embedded cargo run --release -q -p integration-tests --bin agent-latency
run agent_dynamodb cargo run --release -q -p integration-tests --bin agent-latency -- --store dynamodb

python3 scripts/bench-report.py "$out" > "$out/report.md"
cat "$out/report.md"
