#!/usr/bin/env bash
# Uses the artefacts of scripts/package.sh as a user would, with nothing of the checkout:
# 1. the wheel, pip-installed into a fresh venv: `aliyun-sidecar signin --help`, and it carries only
#    the sidecar (no emulator);
# 2. the VSIX, unpacked: its bundled sidecar runs with a Python that has nothing installed (Debian's
#    /usr/bin/python3 when it is 3.11+ and bare, else a bare venv without pip), `signin --help` and
#    `credentials --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
wheel=$(ls dist/aliyun_sidecar-*-py3-none-any.whl)
vsix=$(ls dist/aliyun-sidecar-*.vsix)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"  # never the checkout: `python -m` would find ./sidecar there

python3 -m venv venv
venv/bin/python -m pip install -q --disable-pip-version-check "$root/$wheel" 2>&1 | grep -v '^WARNING: Location' || true
venv/bin/aliyun-sidecar signin --help | grep -q -- '--profile'
if venv/bin/python -c 'import emulator' 2>/dev/null; then echo "the wheel installs the emulator" >&2; exit 1; fi
echo "wheel: installed in a fresh venv, 'aliyun-sidecar signin --help' works, no emulator"

bare=/usr/bin/python3
if ! [ -x "$bare" ] || ! "$bare" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || "$bare" -c 'import httpx' 2>/dev/null; then
  "$(python3 -c 'import sys; print(sys._base_executable)')" -m venv --without-pip bare
  bare=$tmp/bare/bin/python3
fi
if "$bare" -c 'import httpx' 2>/dev/null; then echo "$bare is not bare (imports httpx)" >&2; exit 1; fi
mkdir vsix && (cd vsix && unzip -q "$root/$vsix")
ext=$tmp/vsix/extension
(cd "$ext" && PYTHONPATH="$ext/bundled/libs" "$bare" -m sidecar signin --help | grep -q -- '--profile')
(cd "$ext" && PYTHONPATH="$ext/bundled/libs" "$bare" -m sidecar credentials --help | grep -q -- '--profile')
if [ -d "$ext/bundled/libs/emulator" ] || [ -d "$ext/bundled/libs/tests" ]; then echo "the VSIX carries the emulator or the tests" >&2; exit 1; fi
echo "vsix: its sidecar runs with $bare ($("$bare" --version 2>&1)), nothing installed"
