#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: installs what it needs into .tools/ (git-ignored), then checks
# formatting and lints, runs every Rust test (unit, property, contract and HTTP tests) and fuzzes the HTTP API
# with schemathesis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-tools.sh
export PATH="$PWD/.tools/venv/bin:$PATH"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
cargo test --workspace --all-features --locked
scripts/lint-infra.sh
scripts/schemathesis.sh
