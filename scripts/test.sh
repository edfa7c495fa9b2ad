#!/usr/bin/env bash
# Runs every test: creates .venv with the official openai, anthropic and google-genai SDKs (used
# by the e2e SDK tests) if it is missing, then `cargo test` on the library, binary and e2e suite
# (the benchmark is run separately with `cargo bench`). Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/sdk/requirements.txt

# The dashboard's browser tests (tests/dashboard.rs runs ui/e2e) need ui/node_modules and
# Debian's chromium; both are installed here when missing, so that this script alone passes on
# a fresh machine.
if [ ! -d ui/node_modules/playwright-core ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

export BIFROST_TEST_PYTHON="${BIFROST_TEST_PYTHON:-$PWD/.venv/bin/python}"
cargo test --lib --bins --tests "$@"
