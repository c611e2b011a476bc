#!/usr/bin/env bash
# Installs what the tests need beyond Rust into .tools/ (git-ignored). Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools
if [ ! -x .tools/venv/bin/python ]; then
  python3 -m venv .tools/venv
fi
pip_install() {
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "$@"
}
[ -x .tools/venv/bin/schemathesis ] || pip_install 'schemathesis>=4,<5'
[ -x .tools/venv/bin/cfn-lint ] || pip_install cfn-lint
# DynamoDB Local, AWS's own emulator, as the amplify-dynamodb-simulator package ships it (run with java).
if [ ! -f .tools/dynamodb-local/package/emulator/DynamoDBLocal.jar ]; then
  mkdir -p .tools/dynamodb-local
  (cd .tools/dynamodb-local && npm pack --silent amplify-dynamodb-simulator@2.9.30 >/dev/null \
    && tar xzf amplify-dynamodb-simulator-2.9.30.tgz && rm amplify-dynamodb-simulator-2.9.30.tgz)
fi
# moto's server emulates SQS (with redrive to a dead-letter queue) and Secrets Manager.
[ -x .tools/venv/bin/moto_server ] || pip_install 'moto[server]'
# A real SMTP server for the SMTP mailer's contract test, which reads back what it received.
.tools/venv/bin/python -c "import aiosmtpd" 2>/dev/null || pip_install aiosmtpd
# The MCP Inspector's CLI: a client of /mcp that nobody here wrote (tests/agents/inspector.rs).
if [ ! -x .tools/mcp-inspector/node_modules/.bin/mcp-inspector ]; then
  npm install --silent --no-audit --no-fund --prefix .tools/mcp-inspector @modelcontextprotocol/inspector@2.12.0
fi
# The dashboard's browser tests: Debian's Chromium and its WebDriver (as root, when missing), and axe-core from npm.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "chromium and chromium-driver are missing; install them (apt-get install chromium chromium-driver) as root" >&2
  fi
fi
if [ ! -f .tools/npm/node_modules/axe-core/axe.min.js ]; then
  mkdir -p .tools/npm
  npm install --silent --no-audit --no-fund --prefix .tools/npm axe-core@4.11.0 >/dev/null
fi
