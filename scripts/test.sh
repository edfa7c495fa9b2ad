#!/usr/bin/env bash
# Runs every test: creates .venv with the official openai SDK (used by the e2e SDK test) if it is
# missing, then `cargo test` on the library, binary and e2e suite (the benchmark is run
# separately with `cargo bench`). Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/sdk/requirements.txt

export BIFROST_TEST_PYTHON="${BIFROST_TEST_PYTHON:-$PWD/.venv/bin/python}"
cargo test --lib --bins --tests "$@"
