# Sourced by scripts/demo and scripts/check: creates .venv with keyaudit installed (extras in $1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "keyaudit needs Python >= 3.11 (found: $("$PY" --version 2>&1))" >&2; exit 2
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    # Debian's python3 ships venv's ensurepip separately
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$PY" -m venv .venv
    else
      echo "python3 -m venv failed: install it with 'sudo apt-get install python3-venv' and run this again" >&2; exit 2
    fi
  fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>/dev/null || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${1:-}" 2>&1 | grep -v '^WARNING: Location' >&2 || true
.venv/bin/python -c 'import auditor' || { echo "installing keyaudit into .venv failed" >&2; exit 2; }
