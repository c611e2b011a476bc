#!/usr/bin/env bash
# Installs what the tests need beyond Rust into .tools/ (git-ignored). Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools
if [ ! -x .tools/venv/bin/python ]; then
  python3 -m venv .tools/venv
fi
if ! .tools/venv/bin/python -c 'import schemathesis' 2>/dev/null; then
  .tools/venv/bin/pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5'
fi
