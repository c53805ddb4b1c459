# Sourced by scripts/run and scripts/test: makes .venv and installs leanon into it.
# Needs only Python 3.11+ on PATH (python3, or set PYTHON=/path/to/python).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "leanon needs Python 3.11 or newer as '$python' (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Reinstall only when the dependency list or the lock file changed. The lock file
# (constraints.txt, refreshed by `make lock`) holds every package at a tested version.
# scripts/test sets LEANON_DEV=1: the test and lint tools too; scripts/run needs none.
stamp=".venv/.leanon-installed"
want="$(cat pyproject.toml constraints.txt | "$python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "${LEANON_DEV:-0}" = 1 ]; then
  target=".[dev]" want="$want dev"
else
  target="."
fi
# A venv with the dev tools serves scripts/run too.
if [ "$have" != "$want" ] && [ "$have" != "$want dev" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e "$target" -c constraints.txt
  echo "$want" > "$stamp"
fi
