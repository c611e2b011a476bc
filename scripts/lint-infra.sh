#!/usr/bin/env bash
# Lints the SAM template with cfn-lint (installed into .tools/ by install-test-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
.tools/venv/bin/cfn-lint infra/template.yaml
echo "cfn-lint: infra/template.yaml passes"
