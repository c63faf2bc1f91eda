# Shared by scripts/test.sh and scripts/demo.sh: the project's own virtual environment.
# The venv's interpreter: bin/ on Linux and macOS, Scripts/ on Windows (Git Bash).
venv_python() { if [ -x .venv/Scripts/python.exe ]; then echo .venv/Scripts/python.exe; else echo .venv/bin/python; fi; }
PY=$(venv_python)

# The machine's Python 3.11+: python3, else python, else the Windows launcher's `py -3`.
system_python() {
  for candidate in python3 python "py -3"; do
    if $candidate -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

step() { printf '\n### %s\n' "$*"; }

# ensure_venv [test]: create .venv with python3 (3.11+) and install the package (and test extras).
ensure_venv() {
  local extras=""
  [ "${1:-}" = "test" ] && extras="[test]"
  if [ ! -x "$PY" ]; then
    local python
    python=$(system_python) || { echo "Python 3.11 or newer is required (python3, python or py -3)" >&2; exit 1; }
    $python -m venv .venv
    PY=$(venv_python)
  fi
  local stamp=".venv/.installed${extras}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$PY" -m pip install -q --disable-pip-version-check -e ".${extras}"
    touch "$stamp"
  fi
  # Compiled bytecode: the sidecar starts ~40% faster with it.
  "$PY" -m compileall -q sidecar >/dev/null
}
