#!/usr/bin/env bash
# Installs everything the tests need (Python venv, the extension's npm packages, the real-editor
# harness) and runs every test: pytest, the extension's tests, and the real-editor test.
# Idempotent; a second run reuses what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/lib.sh

ensure_venv test
step "pytest (sidecar: unit, end-to-end over stdio, emulator, SDK interop)"
"$PY" -m pytest -q -p no:cacheprovider

step "extension: build, unit tests, contract test against a real sidecar"
(cd vscode-extension && npm ci --no-audit --no-fund --loglevel=error && npm test)

if [ "${SKIP_REAL_EDITOR:-}" = "1" ]; then
  echo "SKIP_REAL_EDITOR=1: the real-editor test was not run" >&2
else
  step "real editor: code-server + headless chromium drive the packaged extension"
  bash e2e/real-editor/setup.sh
  (cd vscode-extension && npm run --silent package)
  node e2e/real-editor/run.mjs --vsix "$(ls -t vscode-extension/*.vsix | head -1)"
fi
step "all tests passed"
