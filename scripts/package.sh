#!/usr/bin/env bash
# Builds the release artefacts into dist/:
#   dist/aliyun_sidecar-<version>-py3-none-any.whl   the sidecar for terminal users (pip install)
#   dist/aliyun-sidecar-<version>.vsix               the extension, carrying the sidecar and every
#                                                    library it imports (universal: pure Python only)
# Works on a clean clone: creates .venv (with the build tools of the test extras) and the extension's
# node_modules when they are missing. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/lib.sh

ensure_venv test
mkdir -p dist
version=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')

step "wheel (python -m build)"
rm -f dist/aliyun_sidecar-*.whl dist/aliyun_sidecar-*.tar.gz
"$PY" -m build --wheel --outdir dist . >/dev/null
wheel=$(ls dist/aliyun_sidecar-"$version"-py3-none-any.whl)
# Only the sidecar ships: not the emulator, the demo, the tests or the benchmarks.
"$PY" - "$wheel" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
stray = sorted({n.split("/")[0] for n in names} - {"sidecar"} - {n.split("/")[0] for n in names if ".dist-info/" in n})
if stray:
    sys.exit(f"the wheel carries more than the sidecar: {stray}")
print(f"{sys.argv[1]}: {len(names)} files, top level: sidecar + dist-info")
EOF

step "bundled libraries: the wheel and its dependencies, pure-Python wheels only"
ext=vscode-extension
libs=$ext/bundled/libs
rm -rf "$ext/bundled"
mkdir -p "$libs"
# --platform any + --only-binary: pip may only pick py3-none-any wheels, so the same VSIX runs on every
# OS, CPU and Python 3.11+. A dependency that needs native code fails here, not on a user's machine.
"$PY" -m pip install --quiet --disable-pip-version-check --no-compile --target "$libs" \
  --platform any --python-version 3.11 --only-binary=:all: "$wheel"
rm -rf "$libs/bin"  # console-script shims pointing at this machine's Python; the launcher replaces them
native=$(find "$libs" -name '*.so' -o -name '*.pyd' -o -name '*.dylib' | head -5)
if [ -n "$native" ]; then
  echo "native code in the bundled libraries (the VSIX must stay universal): $native" >&2
  exit 1
fi
echo "$libs: $(ls "$libs" | grep -vc '\.dist-info$') packages, $(du -sh "$libs" | cut -f1)"

step "VSIX (vsce package)"
(
  cd "$ext"
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  npm run --silent build
  cp "$root/LICENSE" LICENSE  # one source (the repository's); vsce packs the extension folder's
  rm -f "$root"/dist/aliyun-sidecar-*.vsix
  npx --no-install vsce package --out "$root/dist/aliyun-sidecar-$version.vsix" >/dev/null
)
vsix=dist/aliyun-sidecar-$version.vsix
echo "$vsix: $(du -h "$vsix" | cut -f1) ($(unzip -l "$vsix" | tail -1 | awk '{print $2}') files)"
ls -l dist/
