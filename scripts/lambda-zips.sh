#!/usr/bin/env bash
# Builds every function's deployment zip exactly as the README's deploy step does (cargo-lambda, release, arm64)
# and prints a table of their sizes: what Lambda stores and loads at a cold start. Installs cargo-lambda and zig
# into .tools/venv and the arm64 standard library with rustup when they are missing.
# Takes about 15 minutes on two cores from a cold target folder.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools
[ -x .tools/venv/bin/python ] || python3 -m venv .tools/venv
[ -x .tools/venv/bin/cargo-lambda ] ||
  .tools/venv/bin/pip install --quiet --disable-pip-version-check cargo-lambda ziglang
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
export PATH="$PWD/.tools/venv/bin:$PATH"
cargo lambda build --release --arm64 --output-format zip -p lambda-functions >&2
target=$(scripts/target-dir.sh)
echo "| function | zip (MB) | bootstrap (MB) |"
echo "|---|---|---|"
for zip in "$target"/lambda/*/bootstrap.zip; do
  function=$(basename "$(dirname "$zip")")
  unzipped=$(python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).getinfo("bootstrap").file_size)' "$zip")
  printf '| `%s` | %.2f | %.1f |\n' "$function" "$(stat -c %s "$zip")e-6" "${unzipped}e-6"
done
