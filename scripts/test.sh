#!/usr/bin/env bash
# Installs everything the tests need (Python venv, the extension's npm packages, the real-editor
# harness) and runs every test: pytest, the extension's tests, the release artefacts of
# scripts/package.sh used as a user would, and the real-editor test of the packaged VSIX.
# Idempotent; a second run reuses what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/lib.sh

ensure_venv test
# The extension's packages first: pytest reads its TypeScript with the compiler (no function over 60
# lines) and compiles the recipes' copies; without them those tests skip.
step "extension: npm packages"
(cd vscode-extension && npm ci --no-audit --no-fund --loglevel=error)
step "pytest (sidecar: unit, end-to-end over stdio, emulator, SDK interop)"
"$PY" -m pytest -q -p no:cacheprovider -rs

step "extension: build, unit tests, contract test against a real sidecar"
(cd vscode-extension && npm test)

# The release checks and the real editor use Debian packages and Linux builds (code-server): Linux only.
if [ "$(uname -s)" != "Linux" ]; then
  echo "not Linux: the release-artefact checks and the real-editor test run on Linux only" >&2
  SKIP_DIST=1 SKIP_REAL_EDITOR=1
fi
if [ "${SKIP_DIST:-}" != "1" ]; then
  step "release artefacts: scripts/package.sh, then each one used as a user would"
  bash scripts/package.sh
  bash scripts/check-dist.sh
fi

if [ "${SKIP_REAL_EDITOR:-}" = "1" ]; then
  echo "SKIP_REAL_EDITOR=1: the real-editor test was not run" >&2
else
  step "real editor: code-server + headless chromium drive the packaged extension"
  bash e2e/real-editor/setup.sh
  node e2e/real-editor/run.mjs --vsix "$(ls dist/aliyun-sidecar-*.vsix)"
  # The same in a TRUSTED folder whose .vscode/settings.json points the endpoints, the Python and the
  # config file at itself: nothing may be sent or run there (VS Code then hands folder values over).
  node e2e/real-editor/run.mjs --vsix "$(ls dist/aliyun-sidecar-*.vsix)" --no-trust --no-trace
  # No usable Python (a pythonPath that does not exist): the message, its one button, the Remote tab.
  node e2e/real-editor/run.mjs --vsix "$(ls dist/aliyun-sidecar-*.vsix)" --bad-python-path --no-trace
fi
step "all tests passed"
