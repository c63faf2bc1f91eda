#!/usr/bin/env bash
# Installs the sidecar in a local venv and runs the demo against the embedded emulator:
# sign-in, credentials, forced refresh of each layer, switch, delete. Touches no real ~/.aliyun.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_venv
"$PY" -m emulator.demo "$@"
