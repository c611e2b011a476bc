#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: installs what it needs into .tools/ (git-ignored), then checks
# formatting and lints, runs every Rust test (unit, property, contract and HTTP tests) and fuzzes the HTTP API
# with schemathesis.
set -euo pipefail
cd "$(dirname "$0")/.."
# rust-toolchain.toml pins the toolchain. Where rustup cannot download it but the installed stable is that very
# version (an offline CI machine), register stable under the pinned name so every cargo below finds it.
pinned=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
if command -v rustup >/dev/null && ! rustup toolchain list | grep -q "^$pinned-"; then
  if [ "$(rustup run stable rustc --version 2>/dev/null | cut -d' ' -f2)" = "$pinned" ]; then
    rustup toolchain link "$pinned" "$(rustup run stable rustc --print sysroot)"
  fi
fi
scripts/install-test-tools.sh
export PATH="$PWD/.tools/venv/bin:$PATH"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
cargo test --workspace --all-features --locked
scripts/lint-infra.sh
scripts/schemathesis.sh
